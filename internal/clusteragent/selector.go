package clusteragent

import (
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubetopo/kubetopo/topology"
)

// selectorJoin keeps service → pod relations for Services with a selector.
// It is the one relation that needs two objects at once, so it keeps, per
// namespace, the selectors and pod labels it has processed and, per pod, the
// Services that select it.
//
// Each pod that some Service selects is one owner in the store
// ("service-selector/<ns>/<pod>"), contributing its "exposed by" relations.
// A pod change therefore re-renders only that pod's few relations, and a
// Service change re-renders only the pods it selected before or selects
// after; a change that alters no match touches the store not at all.
//
// Memory is what this type is about: at 10k pods it holds one small record
// per pod. Names are the informer's strings (map keys share their bytes),
// labels are the informer's maps, and a pod's Services are a slice of
// pointers, usually of length one. Owner names are built only to call the
// store, which keeps one per selected pod.
type selectorJoin struct {
	urns topology.URNs
	sink sink
	ns   map[string]*nsJoin
}

type sink interface {
	Update(owner string, res topology.Result)
	Delete(owner string)
}

type nsJoin struct {
	svcs map[string]*svcJoin
	pods map[string]podJoin
}

// svcJoin is a Service with a selector; pods point at it while it selects them.
type svcJoin struct {
	name string
	sel  labels.Selector
}

type podJoin struct {
	labels labels.Set
	svcs   []*svcJoin // the Services that select the pod, no duplicates
}

func newSelectorJoin(u topology.URNs, s sink) *selectorJoin {
	return &selectorJoin{urns: u, sink: s, ns: map[string]*nsJoin{}}
}

func (j *selectorJoin) namespace(ns string) *nsJoin {
	n := j.ns[ns]
	if n == nil {
		n = &nsJoin{svcs: map[string]*svcJoin{}, pods: map[string]podJoin{}}
		j.ns[ns] = n
	}
	return n
}

func podOwner(ns, pod string) string { return "service-selector/" + ns + "/" + pod }

// publish replaces the pod's relations in the store with one per Service in
// svcs.
func (j *selectorJoin) publish(ns, pod string, svcs []*svcJoin) {
	if len(svcs) == 0 {
		j.sink.Delete(podOwner(ns, pod))
		return
	}
	rels := make([]topology.Relation, len(svcs))
	for i, s := range svcs {
		rels[i] = topology.ExposesPod(j.urns, ns, s.name, pod)
	}
	j.sink.Update(podOwner(ns, pod), topology.Result{Relations: rels})
}

func indexOf(svcs []*svcJoin, s *svcJoin) int {
	for i, x := range svcs {
		if x == s {
			return i
		}
	}
	return -1
}

// without returns svcs less its i-th element, nil when that leaves none.
func without(svcs []*svcJoin, i int) []*svcJoin {
	if len(svcs) == 1 {
		return nil
	}
	last := len(svcs) - 1
	copy(svcs[i:], svcs[i+1:])
	svcs[last] = nil
	return svcs[:last]
}

// upsertService records a Service's selector (nil: it selects nothing) and
// recomputes which pods it selects.
func (j *selectorJoin) upsertService(ns, svc string, sel labels.Selector) {
	if sel == nil {
		j.deleteService(ns, svc)
		return
	}
	n := j.namespace(ns)
	s := n.svcs[svc]
	if s == nil {
		s = &svcJoin{name: svc}
		n.svcs[svc] = s
	}
	s.sel = sel
	for pod, p := range n.pods {
		i := indexOf(p.svcs, s)
		switch match := sel.Matches(p.labels); {
		case match && i < 0:
			p.svcs = append(p.svcs, s)
		case !match && i >= 0:
			p.svcs = without(p.svcs, i)
		default:
			continue
		}
		n.pods[pod] = p
		j.publish(ns, pod, p.svcs)
	}
}

func (j *selectorJoin) deleteService(ns, svc string) {
	n := j.namespace(ns)
	if s := n.svcs[svc]; s != nil {
		delete(n.svcs, svc)
		for pod, p := range n.pods {
			if i := indexOf(p.svcs, s); i >= 0 {
				p.svcs = without(p.svcs, i)
				n.pods[pod] = p
				j.publish(ns, pod, p.svcs)
			}
		}
	}
	j.gc(ns)
}

func (j *selectorJoin) upsertPod(ns, pod string, l map[string]string) {
	n := j.namespace(ns)
	p := n.pods[pod]
	p.labels = labels.Set(l)
	// Most updates (status, resync) change no match: find out without
	// allocating, and leave the store alone.
	matches, changed := 0, false
	for _, s := range n.svcs {
		match := s.sel.Matches(p.labels)
		if match {
			matches++
		}
		if match != (indexOf(p.svcs, s) >= 0) {
			changed = true
		}
	}
	if changed {
		var svcs []*svcJoin
		if matches > 0 {
			svcs = make([]*svcJoin, 0, matches)
			for _, s := range n.svcs {
				if s.sel.Matches(p.labels) {
					svcs = append(svcs, s)
				}
			}
		}
		p.svcs = svcs
		j.publish(ns, pod, svcs)
	}
	n.pods[pod] = p
}

func (j *selectorJoin) deletePod(ns, pod string) {
	n := j.namespace(ns)
	if p, ok := n.pods[pod]; ok {
		delete(n.pods, pod)
		if len(p.svcs) > 0 {
			j.sink.Delete(podOwner(ns, pod))
		}
	}
	j.gc(ns)
}

func (j *selectorJoin) gc(ns string) {
	if n := j.ns[ns]; n != nil && len(n.svcs) == 0 && len(n.pods) == 0 {
		delete(j.ns, ns)
	}
}
