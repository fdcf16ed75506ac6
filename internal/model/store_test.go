package model

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func comp(cluster, typ, ns, name string, extra ...string) labels.Labels {
	urn := "urn:kubernetes:/" + cluster + ":" + ns + ":" + typ + "/" + name
	if ns == "" {
		urn = "urn:kubernetes:/" + cluster + ":" + typ + "/" + name
	}
	ss := append([]string{"__name__", ComponentInfo, "cluster", cluster, "urn", urn, "type", typ, "namespace", ns, "name", name, typ, name}, extra...)
	return labels.FromStrings(ss...)
}

func rel(cluster, typ, src, srcType, tgt, tgtType string) labels.Labels {
	return labels.FromStrings("__name__", RelationInfo, "cluster", cluster, "type", typ, "source_urn", src, "source_type", srcType, "target_urn", tgt, "target_type", tgtType)
}

func TestStore(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := NewStore(StoreOptions{Staleness: 5 * time.Minute, Now: clk.now})
	ms := func() int64 { return clk.now().UnixMilli() }

	podA := comp("a", "pod", "shop", "web-1")
	nodeA := comp("a", "node", "", "n1")
	podB := comp("b", "pod", "shop", "web-1")
	sched := rel("a", "scheduled_on", podA.Get("urn"), "pod", nodeA.Get("urn"), "node")
	for _, l := range []labels.Labels{podA, nodeA, podB, sched} {
		if !s.Observe(l, ms(), 1) {
			t.Fatalf("Observe(%s) = false", l)
		}
	}
	if s.Observe(labels.FromStrings("__name__", "kube_pod_info", "pod", "x"), ms(), 1) {
		t.Error("Observe took a non-topology series")
	}

	t.Run("add, multi-cluster", func(t *testing.T) {
		g := s.Graph()
		if c, r := g.Len(); c != 3 || r != 1 {
			t.Fatalf("Len = %d components, %d relations; want 3, 1", c, r)
		}
		a, b := g.Component(podA.Get("urn")), g.Component(podB.Get("urn"))
		if a == nil || b == nil || a.Cluster != "a" || b.Cluster != "b" {
			t.Fatalf("pods of two clusters: %+v %+v", a, b)
		}
		if a.Identity["pod"] != "web-1" || a.Namespace != "shop" || a.Type != "pod" {
			t.Errorf("pod decoded as %+v", a)
		}
		if out := g.Out(podA.Get("urn")); len(out) != 1 || out[0].Target != nodeA.Get("urn") {
			t.Errorf("Out(pod) = %v", out)
		}
		if in := g.In(nodeA.Get("urn")); len(in) != 1 || in[0].Source != podA.Get("urn") {
			t.Errorf("In(node) = %v", in)
		}
		if g2 := s.Graph(); g2 != g {
			t.Error("Graph rebuilt without a change")
		}
	})

	t.Run("labels and relabel: the newest labels series wins", func(t *testing.T) {
		l1 := labels.FromStrings("__name__", ComponentLabels, "cluster", "a", "urn", podA.Get("urn"), "label_app", "web", "label_tier", "v1")
		s.Observe(l1, ms(), 1)
		if got := s.Graph().Component(podA.Get("urn")).Labels; got["app"] != "web" || got["tier"] != "v1" {
			t.Fatalf("labels = %v", got)
		}
		clk.add(time.Minute)
		l2 := labels.FromStrings("__name__", ComponentLabels, "cluster", "a", "urn", podA.Get("urn"), "label_app", "web", "label_tier", "v2")
		s.Observe(l2, ms(), 1)
		if got := s.Graph().Component(podA.Get("urn")).Labels; got["tier"] != "v2" {
			t.Fatalf("after relabel, labels = %v", got)
		}
		s.Observe(l1, ms(), math.Float64frombits(value.StaleNaN))
		if got := s.Graph().Component(podA.Get("urn")).Labels; got["tier"] != "v2" {
			t.Fatalf("after the old series' staleness marker, labels = %v", got)
		}
	})

	t.Run("staleness marker drops at once", func(t *testing.T) {
		s.Observe(podB, ms(), math.Float64frombits(value.StaleNaN))
		if s.Graph().Has(podB.Get("urn")) {
			t.Error("pod of cluster b still there after its staleness marker")
		}
		if !s.Graph().Has(podA.Get("urn")) {
			t.Error("pod of cluster a went with it")
		}
	})

	t.Run("stale after the window; a relation with a gone end is not shown", func(t *testing.T) {
		clk.add(4 * time.Minute) // podA, nodeA, sched last seen 5m ago; l2 4m ago
		s.Observe(podA, ms(), 1)
		s.Observe(sched, ms(), 1)
		clk.add(90 * time.Second)
		if n := s.Sweep(); n != 2 { // nodeA and the labels series l2
			t.Fatalf("Sweep dropped %d series, want 2 (the node, the labels)", n)
		}
		g := s.Graph()
		if g.Has(nodeA.Get("urn")) || !g.Has(podA.Get("urn")) {
			t.Fatalf("after sweep: node %v, pod %v", g.Has(nodeA.Get("urn")), g.Has(podA.Get("urn")))
		}
		if _, r := g.Len(); r != 0 {
			t.Errorf("relation to a gone node still listed: %v", g.Relations())
		}
		if g.Component(podA.Get("urn")).Labels != nil {
			t.Errorf("labels kept past their window: %v", g.Component(podA.Get("urn")).Labels)
		}
	})

	t.Run("a late batch older than the window does not resurrect", func(t *testing.T) {
		s.Observe(nodeA, clk.now().Add(-10*time.Minute).UnixMilli(), 1)
		if s.Graph().Has(nodeA.Get("urn")) {
			t.Error("node resurrected by an old sample")
		}
	})
}

func TestStoreConcurrent(t *testing.T) {
	s := NewStore(StoreOptions{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				s.Observe(comp("c", "pod", "ns", fmt.Sprintf("p%d", i%100)), time.Now().UnixMilli(), 1)
				if i%50 == 0 {
					_ = s.Graph().Components()
				}
			}
		}()
	}
	wg.Wait()
	if c, _ := s.Graph().Len(); c != 100 {
		t.Errorf("%d components, want 100", c)
	}
	if s.Observe(comp("c", "pod", "ns", "p1"), 0, math.NaN()); !s.Graph().Has("urn:kubernetes:/c:ns:pod/p1") {
		t.Error("a plain NaN (not a staleness marker) removed the series")
	}
}

func BenchmarkStoreObserveSeen(b *testing.B) {
	s := NewStore(StoreOptions{})
	var ls []labels.Labels
	for i := 0; i < 1000; i++ {
		ls = append(ls, comp("c", "pod", "ns", fmt.Sprintf("pod-%d", i), "uid", fmt.Sprintf("uid-%d", i)))
	}
	now := time.Now().UnixMilli()
	for _, l := range ls {
		s.Observe(l, now, 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Observe(ls[i%len(ls)], now, 1)
	}
}

// TestStoreReusedBuffer: what Observe keeps must not alias the caller's
// labels, which a remote-write decoder reuses for the next series.
func TestStoreReusedBuffer(t *testing.T) {
	s := NewStore(StoreOptions{})
	sb := labels.NewScratchBuilder(8)
	var ls labels.Labels
	now := time.Now().UnixMilli()
	in := []labels.Labels{
		comp("c", "pod", "ns", "p"), comp("c", "node", "", "n"),
		rel("c", "scheduled_on", "urn:kubernetes:/c:ns:pod/p", "pod", "urn:kubernetes:/c:node/n", "node"),
	}
	for _, l := range in {
		sb.Reset()
		l.Range(func(x labels.Label) { sb.Add(x.Name, x.Value) })
		sb.Overwrite(&ls) // ls aliases sb's buffer, overwritten by the next series
		s.Observe(ls, now, 1)
	}
	sb.Reset()
	sb.Add("__name__", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
	sb.Overwrite(&ls)
	if c, r := s.Graph().Len(); c != 2 || r != 1 {
		t.Errorf("%d components, %d relations; want 2, 1", c, r)
	}
}

// BenchmarkGraphRebuild is the cost of a snapshot after a change, for a
// topology of 10,000 pods on 100 nodes (30,100 series: a pod, its labels and
// its scheduled_on relation each, and the nodes).
func BenchmarkGraphRebuild(b *testing.B) {
	s := NewStore(StoreOptions{})
	now := time.Now().UnixMilli()
	for n := 0; n < 100; n++ {
		s.Observe(comp("c", "node", "", fmt.Sprintf("node-%d", n)), now, 1)
	}
	for i := 0; i < 10000; i++ {
		p := comp("c", "pod", "ns", fmt.Sprintf("pod-%d", i), "uid", fmt.Sprintf("uid-%d", i))
		s.Observe(p, now, 1)
		s.Observe(labels.FromStrings("__name__", ComponentLabels, "cluster", "c", "urn", p.Get("urn"), "label_app", "web"), now, 1)
		s.Observe(rel("c", "scheduled_on", p.Get("urn"), "pod", fmt.Sprintf("urn:kubernetes:/c:node/node-%d", i%100), "node"), now, 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.version.Add(1) // a change
		if c, _ := s.Graph().Len(); c != 10100 {
			b.Fatal(c)
		}
	}
}

func TestHasComponentAndRebuildInterval(t *testing.T) {
	s := NewStore(StoreOptions{MinRebuildInterval: time.Hour})
	now := time.Now().UnixMilli()
	a, b := comp("c", "pod", "ns", "a"), comp("c", "pod", "ns", "b")
	s.Observe(a, now, 1)
	g := s.Graph()
	s.Observe(b, now, 1)
	if !s.HasComponent(b.Get("urn")) {
		t.Error("HasComponent(b) = false right after it arrived")
	}
	if s.Graph() != g || g.Has(b.Get("urn")) {
		t.Error("Graph rebuilt within MinRebuildInterval")
	}
	s.Observe(a, now, math.Float64frombits(value.StaleNaN))
	if s.HasComponent(a.Get("urn")) {
		t.Error("HasComponent(a) = true after its staleness marker")
	}
	relabelled := comp("c", "pod", "ns", "b", "uid", "new-uid") // b's info series with another label set
	s.Observe(relabelled, now, 1)
	s.Observe(b, now, math.Float64frombits(value.StaleNaN))
	if !s.HasComponent(b.Get("urn")) {
		t.Error("HasComponent(b) = false while its relabelled info series is held")
	}
}
