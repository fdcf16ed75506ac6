package clusteragent

import (
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubetopo/kubetopo/topology"
)

// selectorJoin keeps service → pod relations for Services with a selector.
// It is the one relation that needs two objects at once, so it keeps, per
// namespace, the selectors and pod labels it has processed and which pairs
// match. Each matching pair is its own owner in the store, so a pod or a
// Service changing touches only the pairs it is part of.
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
	selectors map[string]labels.Selector
	pods      map[string]labels.Set
	bySvc     map[string]map[string]struct{} // service → matched pods
	byPod     map[string]map[string]struct{} // pod → matching services
}

func newSelectorJoin(u topology.URNs, s sink) *selectorJoin {
	return &selectorJoin{urns: u, sink: s, ns: map[string]*nsJoin{}}
}

func (j *selectorJoin) namespace(ns string) *nsJoin {
	n := j.ns[ns]
	if n == nil {
		n = &nsJoin{
			selectors: map[string]labels.Selector{}, pods: map[string]labels.Set{},
			bySvc: map[string]map[string]struct{}{}, byPod: map[string]map[string]struct{}{},
		}
		j.ns[ns] = n
	}
	return n
}

func pairOwner(ns, svc, pod string) string { return "service-selector/" + ns + "/" + svc + "/" + pod }

func (j *selectorJoin) set(ns, svc, pod string, match bool) {
	n := j.namespace(ns)
	_, had := n.bySvc[svc][pod]
	switch {
	case match && !had:
		if n.bySvc[svc] == nil {
			n.bySvc[svc] = map[string]struct{}{}
		}
		if n.byPod[pod] == nil {
			n.byPod[pod] = map[string]struct{}{}
		}
		n.bySvc[svc][pod] = struct{}{}
		n.byPod[pod][svc] = struct{}{}
		j.sink.Update(pairOwner(ns, svc, pod), topology.Result{
			Relations: []topology.Relation{topology.ExposesPod(j.urns, ns, svc, pod)},
		})
	case !match && had:
		delete(n.bySvc[svc], pod)
		delete(n.byPod[pod], svc)
		j.sink.Delete(pairOwner(ns, svc, pod))
	}
}

// upsertService records a Service's selector (nil: it selects nothing) and
// recomputes its pairs.
func (j *selectorJoin) upsertService(ns, svc string, sel labels.Selector) {
	n := j.namespace(ns)
	if sel == nil {
		j.deleteService(ns, svc)
		return
	}
	n.selectors[svc] = sel
	for pod, l := range n.pods {
		j.set(ns, svc, pod, sel.Matches(l))
	}
}

func (j *selectorJoin) deleteService(ns, svc string) {
	n := j.namespace(ns)
	delete(n.selectors, svc)
	for pod := range n.bySvc[svc] {
		j.set(ns, svc, pod, false)
	}
	delete(n.bySvc, svc)
	j.gc(ns)
}

func (j *selectorJoin) upsertPod(ns, pod string, l map[string]string) {
	n := j.namespace(ns)
	n.pods[pod] = labels.Set(l)
	for svc, sel := range n.selectors {
		j.set(ns, svc, pod, sel.Matches(labels.Set(l)))
	}
}

func (j *selectorJoin) deletePod(ns, pod string) {
	n := j.namespace(ns)
	delete(n.pods, pod)
	for svc := range n.byPod[pod] {
		j.set(ns, svc, pod, false)
	}
	delete(n.byPod, pod)
	j.gc(ns)
}

func (j *selectorJoin) gc(ns string) {
	if n := j.ns[ns]; n != nil && len(n.selectors) == 0 && len(n.pods) == 0 {
		delete(j.ns, ns)
	}
}
