package model

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

// StoreOptions configure a Store.
type StoreOptions struct {
	// Staleness is how long a topology series may go unseen before its
	// component or relation is dropped. Prometheus staleness markers drop a
	// series at once; this window covers senders that stop without one (a
	// crashed agent, a lost connection). Zero means 5 minutes.
	Staleness time.Duration
	// Now is the clock (tests inject one); nil means time.Now.
	Now func() time.Time
	// MinRebuildInterval bounds how often Graph rebuilds its snapshot after
	// changes (wall clock): a rebuild costs O(series) — about 100 ms of CPU
	// for 10,000 pods — so a churning cluster must not rebuild on every
	// read. Zero rebuilds on the first read after each change.
	MinRebuildInterval time.Duration
}

// Store follows the topology series of a live stream. Observe is called for
// every topology sample of every write, from many goroutines; Graph returns a
// snapshot that is rebuilt only after a series appeared or went away, so
// reads between changes cost one atomic load.
type Store struct {
	staleness time.Duration
	now       func() time.Time
	minBuild  time.Duration

	mu      sync.RWMutex
	series  map[uint64]*entry
	comps   map[string]int32 // URN → number of component_info series: HasComponent without a snapshot
	version atomic.Uint64

	snapMu sync.Mutex
	snap   atomic.Pointer[snapshot]
}

type entry struct {
	metric   string
	lbls     labels.Labels // a private copy
	lastSeen atomic.Int64  // unix milliseconds
}

type snapshot struct {
	version uint64
	graph   *Graph
	built   time.Time
}

// NewStore returns an empty Store.
func NewStore(o StoreOptions) *Store {
	if o.Staleness <= 0 {
		o.Staleness = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{staleness: o.Staleness, now: o.Now, minBuild: o.MinRebuildInterval, series: map[uint64]*entry{}, comps: map[string]int32{}}
	s.version.Store(1)
	return s
}

// IsTopology reports whether a metric name is one the Store follows.
func IsTopology(metric string) bool { return topologyName(metric) != "" }

func topologyName(metric string) string {
	switch metric {
	case ComponentInfo:
		return ComponentInfo
	case ComponentLabels:
		return ComponentLabels
	case RelationInfo:
		return RelationInfo
	}
	return ""
}

// Observe records one sample of a topology series (lbls includes __name__;
// it may point into a buffer the caller reuses: what is kept is copied). A
// Prometheus staleness marker removes the series at once. It returns false
// for other metric names.
func (s *Store) Observe(lbls labels.Labels, tsMillis int64, v float64) bool {
	metric := topologyName(lbls.Get(labels.MetricName)) // a constant: lbls may be a reused buffer
	if metric == "" {
		return false
	}
	h := lbls.Hash()
	if value.IsStaleNaN(v) {
		s.mu.Lock()
		if e, ok := s.series[h]; ok && labels.Equal(e.lbls, lbls) {
			s.deleteLocked(h, e)
			s.version.Add(1)
		}
		s.mu.Unlock()
		return true
	}
	if now := s.now().UnixMilli(); tsMillis > now || tsMillis == 0 {
		tsMillis = now // a sender's clock ahead of ours must not keep a series alive longer
	}
	s.mu.RLock()
	e, ok := s.series[h]
	s.mu.RUnlock()
	if ok && labels.Equal(e.lbls, lbls) {
		for {
			old := e.lastSeen.Load()
			if tsMillis <= old || e.lastSeen.CompareAndSwap(old, tsMillis) {
				return true
			}
		}
	}
	if tsMillis < s.now().Add(-s.staleness).UnixMilli() {
		return true // already stale: a late retry of an old batch
	}
	ne := &entry{metric: metric, lbls: lbls.Copy()}
	ne.lastSeen.Store(tsMillis)
	s.mu.Lock()
	if cur, ok := s.series[h]; ok && labels.Equal(cur.lbls, lbls) {
		if tsMillis > cur.lastSeen.Load() {
			cur.lastSeen.Store(tsMillis)
		}
	} else {
		if cur, ok := s.series[h]; ok {
			s.deleteLocked(h, cur) // a 64-bit hash collision replaces the other series: accepted, see docs
		}
		s.series[h] = ne
		if metric == ComponentInfo {
			s.comps[ne.lbls.Get("urn")]++
		}
		s.version.Add(1)
	}
	s.mu.Unlock()
	return true
}

// Sweep drops the series not seen within the staleness window and returns
// how many it dropped.
func (s *Store) Sweep() int {
	cutoff := s.now().Add(-s.staleness).UnixMilli()
	var stale []uint64
	s.mu.RLock()
	for h, e := range s.series {
		if e.lastSeen.Load() < cutoff {
			stale = append(stale, h)
		}
	}
	s.mu.RUnlock()
	if len(stale) == 0 {
		return 0
	}
	n := 0
	s.mu.Lock()
	for _, h := range stale {
		if e, ok := s.series[h]; ok && e.lastSeen.Load() < cutoff {
			s.deleteLocked(h, e)
			n++
		}
	}
	if n > 0 {
		s.version.Add(1)
	}
	s.mu.Unlock()
	return n
}

func (s *Store) deleteLocked(h uint64, e *entry) {
	delete(s.series, h)
	if e.metric == ComponentInfo {
		urn := e.lbls.Get("urn")
		if s.comps[urn]--; s.comps[urn] <= 0 {
			delete(s.comps, urn)
		}
	}
}

// HasComponent reports whether a component_info series of the URN is held
// now; unlike Graph it never waits for a snapshot.
func (s *Store) HasComponent(urn string) bool {
	s.mu.RLock()
	n := s.comps[urn]
	s.mu.RUnlock()
	return n > 0
}

// Len returns the number of topology series held.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.series)
}

// Graph returns the current snapshot.
func (s *Store) Graph() *Graph {
	v := s.version.Load()
	if snap := s.snap.Load(); snap != nil && (snap.version == v || time.Since(snap.built) < s.minBuild) {
		return snap.graph
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	v = s.version.Load()
	if snap := s.snap.Load(); snap != nil && snap.version == v {
		return snap.graph
	}
	b := NewBuilder()
	type seen struct {
		at     int64
		metric string
		lbl    labels.Labels
	}
	// When a component's info or labels series changed (a relabel), the old
	// and the new series overlap until the old one goes stale: the newest wins.
	newest := map[string]seen{}
	s.mu.RLock()
	for _, e := range s.series {
		if e.metric == RelationInfo {
			b.Add(e.metric, e.lbls)
			continue
		}
		key := e.metric + "\x00" + e.lbls.Get("urn")
		at := e.lastSeen.Load()
		if cur, ok := newest[key]; !ok || at > cur.at || (at == cur.at && labels.Compare(e.lbls, cur.lbl) > 0) {
			newest[key] = seen{at, e.metric, e.lbls}
		}
	}
	s.mu.RUnlock()
	for _, sn := range newest {
		b.Add(sn.metric, sn.lbl)
	}
	g := b.Graph()
	s.snap.Store(&snapshot{version: v, graph: g, built: time.Now()})
	return g
}
