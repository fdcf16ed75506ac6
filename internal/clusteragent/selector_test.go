package clusteragent

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/heapstat"
	"github.com/kubetopo/kubetopo/internal/scenario"
	"github.com/kubetopo/kubetopo/topology"
)

// joinModel is the reference for TestSelectorJoinRandom: the objects the
// join was told about, from which the expected relations are computed from
// scratch after every step.
type joinModel struct {
	pods map[[2]string]map[string]string // ns, name → labels
	svcs map[[2]string]map[string]string // ns, name → selector; nil selects nothing
}

// want returns the expected exposes relations, as "service URN -> pod URN".
func (m *joinModel) want(u topology.URNs) []string {
	var out []string
	for sk, sel := range m.svcs {
		if len(sel) == 0 {
			continue
		}
		for pk, l := range m.pods {
			if pk[0] != sk[0] {
				continue
			}
			match := true
			for k, v := range sel {
				if got, ok := l[k]; !ok || got != v {
					match = false
					break
				}
			}
			if match {
				out = append(out, u.Object(topology.TypeService, sk[0], sk[1])+" -> "+u.Object(topology.TypePod, pk[0], pk[1]))
			}
		}
	}
	sort.Strings(out)
	return out
}

var relLine = regexp.MustCompile(`^` + exporter.RelationInfo + `\{.*type="exposes",source_urn="([^"]*)",target_urn="([^"]*)",source_type="service",target_type="pod"`)

// gotRelations returns the store's service → pod exposes relations, as
// "service URN -> pod URN", and fails on duplicate lines.
func gotRelations(t *testing.T, s *exporter.Store) []string {
	t.Helper()
	var out []string
	for _, l := range storeLines(t, s) {
		if m := relLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1]+" -> "+m[2])
		}
	}
	sort.Strings(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			t.Fatalf("relation rendered twice: %s", out[i])
		}
	}
	return out
}

// joinDriver feeds a join and a store the way the agent does: each pod and
// Service is also its own owner contributing its component, so relations
// render only while both ends exist.
type joinDriver struct {
	urns  topology.URNs
	store *exporter.Store
	join  *selectorJoin
	model joinModel
}

func newJoinDriver() *joinDriver {
	u := topology.NewURNs("test")
	s := exporter.NewStore("test", nil)
	return &joinDriver{urns: u, store: s, join: newSelectorJoin(u, s), model: joinModel{
		pods: map[[2]string]map[string]string{}, svcs: map[[2]string]map[string]string{},
	}}
}

func (d *joinDriver) component(kind, ns, name string, l map[string]string) topology.Result {
	return topology.Result{Components: []topology.Component{{
		URN: d.urns.Object(kind, ns, name), Type: kind, Namespace: ns, Name: name, Labels: l,
	}}}
}

func (d *joinDriver) upsertPod(ns, name string, l map[string]string) {
	d.model.pods[[2]string{ns, name}] = l
	d.store.Update("pods/"+ns+"/"+name, d.component(topology.TypePod, ns, name, l))
	d.join.upsertPod(ns, name, l)
}

func (d *joinDriver) deletePod(ns, name string) {
	delete(d.model.pods, [2]string{ns, name})
	d.store.Delete("pods/" + ns + "/" + name)
	d.join.deletePod(ns, name)
}

// upsertService selects like topology.ServiceSelector: an empty selector
// selects nothing.
func (d *joinDriver) upsertService(ns, name string, sel map[string]string) {
	d.model.svcs[[2]string{ns, name}] = sel
	d.store.Update("services/"+ns+"/"+name, d.component(topology.TypeService, ns, name, map[string]string{}))
	d.join.upsertService(ns, name, topology.ServiceSelector(&corev1.Service{Spec: corev1.ServiceSpec{Selector: sel}}))
}

func (d *joinDriver) deleteService(ns, name string) {
	delete(d.model.svcs, [2]string{ns, name})
	d.store.Delete("services/" + ns + "/" + name)
	d.join.deleteService(ns, name)
}

func (d *joinDriver) check(t *testing.T, step int, what string) {
	t.Helper()
	want, got := d.model.want(d.urns), gotRelations(t, d.store)
	if !slices.Equal(want, got) {
		t.Fatalf("step %d (%s): store serves\n  %s\nwant\n  %s", step, what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func randomLabels(r *rand.Rand, maxKeys int) map[string]string {
	keys := []string{"app", "tier", "track"}
	values := []string{"a", "b", "c"}
	l := map[string]string{}
	for _, k := range keys[:r.IntN(maxKeys+1)] {
		if r.IntN(4) > 0 {
			l[k] = values[r.IntN(len(values))]
		}
	}
	return l
}

// TestSelectorJoinRandom drives the join with seeded random sequences of pod
// and Service upserts and deletes (label changes, selector changes, selectors
// that select nothing, repeated identical updates, whole namespaces going
// away) and after every step compares the relations the store serves with
// those computed from scratch.
func TestSelectorJoinRandom(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, seed*7919))
			d := newJoinDriver()
			namespaces := []string{"ns-a", "ns-b", "ns-c"}
			const steps = 3000
			for step := 0; step < steps; step++ {
				ns := namespaces[r.IntN(len(namespaces))]
				pod := fmt.Sprintf("pod-%d", r.IntN(25))
				svc := fmt.Sprintf("svc-%d", r.IntN(5))
				var what string
				switch op := r.IntN(100); {
				case op < 40:
					l := randomLabels(r, 3)
					what = fmt.Sprintf("upsert pod %s/%s %v", ns, pod, l)
					d.upsertPod(ns, pod, l)
				case op < 50:
					// The same labels again, in a new map, as a status update delivers them.
					old, ok := d.model.pods[[2]string{ns, pod}]
					if !ok {
						continue
					}
					what = fmt.Sprintf("re-upsert pod %s/%s", ns, pod)
					d.upsertPod(ns, pod, copyLabels(old))
				case op < 62:
					what = fmt.Sprintf("delete pod %s/%s", ns, pod)
					d.deletePod(ns, pod)
				case op < 82:
					sel := randomLabels(r, 2)
					what = fmt.Sprintf("upsert service %s/%s %v", ns, svc, sel)
					d.upsertService(ns, svc, sel)
				case op < 92:
					what = fmt.Sprintf("delete service %s/%s", ns, svc)
					d.deleteService(ns, svc)
				case op < 95:
					// A Service that selects nothing (ExternalName, no selector).
					what = fmt.Sprintf("service %s/%s without selector", ns, svc)
					d.upsertService(ns, svc, nil)
				default:
					what = "namespace " + ns + " deleted"
					for k := range d.model.pods {
						if k[0] == ns {
							d.deletePod(k[0], k[1])
						}
					}
					for k := range d.model.svcs {
						if k[0] == ns {
							d.deleteService(k[0], k[1])
						}
					}
					if d.join.ns[ns] != nil {
						t.Fatalf("step %d: namespace %s still held after all its objects went", step, ns)
					}
				}
				d.check(t, step, what)
			}
			// Everything deleted: nothing is left in the join or the store.
			for k := range d.model.pods {
				d.deletePod(k[0], k[1])
			}
			for k := range d.model.svcs {
				d.deleteService(k[0], k[1])
			}
			d.check(t, steps, "all deleted")
			if len(d.join.ns) != 0 {
				t.Fatalf("join still holds namespaces %v", d.join.ns)
			}
			if lines := storeLines(t, d.store); len(lines) != 0 {
				t.Fatalf("store not empty after all deletes: %v", lines)
			}
		})
	}
}

func copyLabels(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// countingSink counts the store calls the join makes.
type countingSink struct{ updates, deletes int }

func (c *countingSink) Update(string, topology.Result) { c.updates++ }
func (c *countingSink) Delete(string)                  { c.deletes++ }

// TestSelectorJoinTouchesOnlyChanges checks the cost of a change: a pod
// update that alters no match does not call the store, a relabel touches only
// that pod, and a selector change touches only the pods whose match changed.
func TestSelectorJoinTouchesOnlyChanges(t *testing.T) {
	c := &countingSink{}
	j := newSelectorJoin(topology.NewURNs("test"), c)
	j.upsertService("ns", "web", labels.SelectorFromSet(labels.Set{"app": "web"}))
	j.upsertService("ns", "db", labels.SelectorFromSet(labels.Set{"app": "db"}))
	for i := 0; i < 100; i++ {
		j.upsertPod("ns", fmt.Sprintf("web-%d", i), map[string]string{"app": "web"})
	}
	for i := 0; i < 10; i++ {
		j.upsertPod("ns", fmt.Sprintf("db-%d", i), map[string]string{"app": "db"})
	}
	for _, tc := range []struct {
		name             string
		do               func()
		updates, deletes int
	}{
		{"same labels again", func() { j.upsertPod("ns", "web-1", map[string]string{"app": "web"}) }, 0, 0},
		{"relabel to other service", func() { j.upsertPod("ns", "web-1", map[string]string{"app": "db"}) }, 1, 0},
		{"relabel to no service", func() { j.upsertPod("ns", "web-1", map[string]string{"app": "none"}) }, 0, 1},
		{"same selector again", func() { j.upsertService("ns", "db", labels.SelectorFromSet(labels.Set{"app": "db"})) }, 0, 0},
		{"selector moves to web pods", func() { j.upsertService("ns", "db", labels.SelectorFromSet(labels.Set{"app": "web"})) }, 99, 10},
		{"delete service", func() { j.deleteService("ns", "web") }, 99, 0},
		{"delete unmatched pod", func() { j.deletePod("ns", "db-1") }, 0, 0},
		{"delete matched pod", func() { j.deletePod("ns", "web-2") }, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			*c = countingSink{}
			tc.do()
			if c.updates != tc.updates || c.deletes != tc.deletes {
				t.Fatalf("store updates/deletes = %d/%d, want %d/%d", c.updates, c.deletes, tc.updates, tc.deletes)
			}
		})
	}
}

// BenchmarkSelectorJoinHeap loads the 10k-pod scale scenario (100 Services
// selecting 100 pods each) into a join feeding a real store and reports the
// live heap the join adds, per pod: the pods' and Services' components are in
// the store before and after, so only the join's own state and its owners in
// the store are counted.
func BenchmarkSelectorJoinHeap(b *testing.B) {
	pods, svcs := scaleObjects()
	u := topology.NewURNs("bench")
	var perPod float64
	for b.Loop() {
		store := componentStore(u, pods, svcs)
		before := heapstat.Live()
		j := newSelectorJoin(u, store)
		for _, s := range svcs {
			j.upsertService(s.Namespace, s.Name, topology.ServiceSelector(s))
		}
		for _, p := range pods {
			j.upsertPod(p.Namespace, p.Name, p.Labels)
		}
		after := heapstat.Live()
		_, rels := store.Counts()
		if rels[topology.RelExposes] != len(pods) {
			b.Fatalf("%d exposes relations, want %d", rels[topology.RelExposes], len(pods))
		}
		perPod = float64(int64(after)-int64(before)) / float64(len(pods))
		runtime.KeepAlive(j)
		runtime.KeepAlive(store)
	}
	runtime.KeepAlive(pods)
	runtime.KeepAlive(svcs)
	b.ReportMetric(perPod, "live-B/pod")
}

// scaleObjects returns the pods and Services of the 10k-pod scale scenario.
func scaleObjects() ([]*corev1.Pod, []*corev1.Service) {
	var pods []*corev1.Pod
	var svcs []*corev1.Service
	for _, o := range scenario.Scale(200, 100, 100) {
		switch o := o.(type) {
		case *corev1.Pod:
			pods = append(pods, o)
		case *corev1.Service:
			svcs = append(svcs, o)
		}
	}
	return pods, svcs
}

// componentStore returns a store holding the pods' and Services' components,
// as the agent's own owners contribute them.
func componentStore(u topology.URNs, pods []*corev1.Pod, svcs []*corev1.Service) *exporter.Store {
	store := exporter.NewStore("bench", nil)
	for _, p := range pods {
		store.Update("pods/"+p.Namespace+"/"+p.Name, topology.Result{Components: []topology.Component{{
			URN: u.Object(topology.TypePod, p.Namespace, p.Name), Type: topology.TypePod, Namespace: p.Namespace, Name: p.Name, Labels: p.Labels,
		}}})
	}
	for _, s := range svcs {
		store.Update("services/"+s.Namespace+"/"+s.Name, topology.Result{Components: []topology.Component{{
			URN: u.Object(topology.TypeService, s.Namespace, s.Name), Type: topology.TypeService, Namespace: s.Namespace, Name: s.Name, Labels: s.Labels,
		}}})
	}
	return store
}

// BenchmarkSelectorJoinChange measures what a change costs the join and the
// store with the 10k-pod scale scenario loaded: a pod update that changes no
// match, a pod relabel that moves it from one Service to another, and a
// Service whose selector flips between two apps of its namespace (100 pods
// leave it, 100 join it).
func BenchmarkSelectorJoinChange(b *testing.B) {
	pods, svcs := scaleObjects()
	u := topology.NewURNs("bench")
	store := componentStore(u, pods, svcs)
	j := newSelectorJoin(u, store)
	for _, s := range svcs {
		j.upsertService(s.Namespace, s.Name, topology.ServiceSelector(s))
	}
	for _, p := range pods {
		j.upsertPod(p.Namespace, p.Name, p.Labels)
	}
	p := pods[0]
	same := copyLabels(p.Labels)
	moved := copyLabels(p.Labels)
	moved["app"] = "app-1" // same namespace as app-0
	sel0 := labels.SelectorFromSet(labels.Set{"app": "app-0"})
	sel1 := labels.SelectorFromSet(labels.Set{"app": "app-1"})
	b.Run("pod-unchanged", func(b *testing.B) {
		for b.Loop() {
			j.upsertPod(p.Namespace, p.Name, same)
		}
	})
	b.Run("pod-relabel", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if i%2 == 0 {
				j.upsertPod(p.Namespace, p.Name, moved)
			} else {
				j.upsertPod(p.Namespace, p.Name, same)
			}
			i++
		}
	})
	j.upsertPod(p.Namespace, p.Name, same)
	b.Run("service-selector-flip", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if i%2 == 0 {
				j.upsertService(p.Namespace, "app-0", sel1)
			} else {
				j.upsertService(p.Namespace, "app-0", sel0)
			}
			i++
		}
	})
}
