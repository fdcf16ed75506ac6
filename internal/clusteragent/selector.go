package clusteragent

import (
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubetopo/kubetopo/topology"
)

// selectorJoin keeps service → pod relations for Services with a selector.
// It is the one relation that needs two objects at once, so it keeps, per
// namespace, the selectors and pod labels it has processed.
//
// Each pod that some Service selects is one owner in the store
// ("service-selector/<ns>/<pod>"), contributing its "exposed by" relations:
// one per Service of its namespace whose selector matches its labels. A pod
// change therefore re-renders only that pod's few relations, and a Service
// change re-renders only the pods it selected before or selects after; a
// change that alters no match touches the store not at all.
//
// Memory is what this type is about: at 10k pods it holds one map entry per
// pod, the informer's name string and the informer's labels map, nothing it
// allocates itself. Which Services select a pod is not stored: the store
// holds what was published, and the selectors that produced it are still
// here, so the join recomputes it when something changes. Owner names are
// built only to call the store, which keeps one per selected pod.
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
	svcs map[string]labels.Selector // never nil selectors
	pods map[string]labels.Set
}

func newSelectorJoin(u topology.URNs, s sink) *selectorJoin {
	return &selectorJoin{urns: u, sink: s, ns: map[string]*nsJoin{}}
}

func (j *selectorJoin) namespace(ns string) *nsJoin {
	n := j.ns[ns]
	if n == nil {
		n = &nsJoin{svcs: map[string]labels.Selector{}, pods: map[string]labels.Set{}}
		j.ns[ns] = n
	}
	return n
}

func podOwner(ns, pod string) string { return "service-selector/" + ns + "/" + pod }

// publish replaces what the store holds for the pod with one relation per
// Service of the namespace that selects l.
func (j *selectorJoin) publish(ns, pod string, n *nsJoin, l labels.Set) {
	var rels []topology.Relation
	for svc, sel := range n.svcs {
		if sel.Matches(l) {
			rels = append(rels, topology.ExposesPod(j.urns, ns, svc, pod))
		}
	}
	if len(rels) == 0 {
		j.sink.Delete(podOwner(ns, pod))
		return
	}
	j.sink.Update(podOwner(ns, pod), topology.Result{Relations: rels})
}

// upsertService records a Service's selector (nil: it selects nothing) and
// republishes the pods whose match it changes.
func (j *selectorJoin) upsertService(ns, svc string, sel labels.Selector) {
	if sel == nil {
		j.deleteService(ns, svc)
		return
	}
	n := j.namespace(ns)
	old := n.svcs[svc]
	n.svcs[svc] = sel
	for pod, l := range n.pods {
		if sel.Matches(l) != (old != nil && old.Matches(l)) {
			j.publish(ns, pod, n, l)
		}
	}
}

func (j *selectorJoin) deleteService(ns, svc string) {
	n := j.namespace(ns)
	if old := n.svcs[svc]; old != nil {
		delete(n.svcs, svc)
		for pod, l := range n.pods {
			if old.Matches(l) {
				j.publish(ns, pod, n, l)
			}
		}
	}
	j.gc(ns)
}

func (j *selectorJoin) upsertPod(ns, pod string, l map[string]string) {
	n := j.namespace(ns)
	old, had := n.pods[pod]
	next := labels.Set(l)
	n.pods[pod] = next
	// Most updates (status, resync) change no match: find that out without
	// allocating, and leave the store alone.
	for _, sel := range n.svcs {
		if sel.Matches(next) != (had && sel.Matches(old)) {
			j.publish(ns, pod, n, next)
			return
		}
	}
}

func (j *selectorJoin) deletePod(ns, pod string) {
	n := j.namespace(ns)
	if l, ok := n.pods[pod]; ok {
		delete(n.pods, pod)
		for _, sel := range n.svcs {
			if sel.Matches(l) {
				j.sink.Delete(podOwner(ns, pod))
				break
			}
		}
	}
	j.gc(ns)
}

func (j *selectorJoin) gc(ns string) {
	if n := j.ns[ns]; n != nil && len(n.svcs) == 0 && len(n.pods) == 0 {
		delete(j.ns, ns)
	}
}
