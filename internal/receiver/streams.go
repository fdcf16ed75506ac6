package receiver

import (
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/kubetopo/kubetopo/internal/health"
)

// Stream is one series mapped to a component: StackState's "telemetry
// stream". Labels are the series' identifying labels, without __name__.
type Stream struct {
	Metric    string            `json:"metric"`
	Labels    map[string]string `json:"labels"`
	Rule      string            `json:"mapped_by"`
	Value     float64           `json:"value"`
	Timestamp int64             `json:"timestamp_ms"`
}

type stream struct {
	urn      string
	metric   string
	rule     string
	lbls     labels.Labels // private copy
	input    bool          // a health check reads it
	bits     atomic.Uint64 // float64 value
	lastSeen atomic.Int64
}

// streams indexes mapped series by label-set hash and by component, bounded
// per component: beyond the bound a series still maps (and is enriched and
// counted) but is not listed.
type streams struct {
	max int

	mu     sync.RWMutex
	byHash map[uint64]*stream
	byURN  map[string]map[uint64]*stream
	inputs map[uint64]*stream
}

func newStreams(max int) *streams {
	return &streams{max: max, byHash: map[uint64]*stream{}, byURN: map[string]map[uint64]*stream{}, inputs: map[uint64]*stream{}}
}

// observe records a sample; it returns false when the component's list is
// full and the series is not in it.
func (s *streams) observe(urn, rule string, h uint64, ls labels.Labels, metric string, ts int64, v float64) bool {
	s.mu.RLock()
	st, ok := s.byHash[h]
	s.mu.RUnlock()
	if value.IsStaleNaN(v) {
		if ok && labels.Equal(st.lbls, ls) {
			s.remove(h, st)
		}
		return true
	}
	if ok && st.urn == urn && labels.Equal(st.lbls, ls) {
		if ts >= st.lastSeen.Load() {
			st.bits.Store(math.Float64bits(v))
			st.lastSeen.Store(ts)
		}
		return true
	}
	ns := &stream{urn: urn, metric: strings.Clone(metric), rule: rule, lbls: ls.Copy(), input: health.IsInput(metric)}
	ns.bits.Store(math.Float64bits(v))
	ns.lastSeen.Store(ts)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byHash[h]; ok {
		s.removeLocked(h, old)
	}
	per := s.byURN[urn]
	if len(per) >= s.max && !ns.input {
		return false
	}
	if per == nil {
		per = map[uint64]*stream{}
		s.byURN[urn] = per
	}
	per[h] = ns
	s.byHash[h] = ns
	if ns.input {
		s.inputs[h] = ns
	}
	return true
}

func (s *streams) remove(h uint64, st *stream) {
	s.mu.Lock()
	if cur, ok := s.byHash[h]; ok && cur == st {
		s.removeLocked(h, st)
	}
	s.mu.Unlock()
}

func (s *streams) removeLocked(h uint64, st *stream) {
	delete(s.byHash, h)
	delete(s.inputs, h)
	if per := s.byURN[st.urn]; per != nil {
		delete(per, h)
		if len(per) == 0 {
			delete(s.byURN, st.urn)
		}
	}
}

// sweep drops series last seen before cutoff (unix ms).
func (s *streams) sweep(cutoff int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for h, st := range s.byHash {
		if st.lastSeen.Load() < cutoff {
			s.removeLocked(h, st)
			n++
		}
	}
	return n
}

func (s *streams) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byHash)
}

// list returns a component's streams, sorted by metric then labels.
func (s *streams) list(urn string) []Stream {
	s.mu.RLock()
	per := s.byURN[urn]
	out := make([]Stream, 0, len(per))
	for _, st := range per {
		out = append(out, st.export())
	}
	s.mu.RUnlock()
	sortStreams(out)
	return out
}

func sortStreams(out []Stream) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Metric != out[j].Metric {
			return out[i].Metric < out[j].Metric
		}
		return labels.FromMap(out[i].Labels).String() < labels.FromMap(out[j].Labels).String()
	})
}

func (st *stream) export() Stream {
	m := st.lbls.Map()
	delete(m, labels.MetricName)
	return Stream{Metric: st.metric, Labels: m, Rule: st.rule, Value: math.Float64frombits(st.bits.Load()), Timestamp: st.lastSeen.Load()}
}

// healthInputs returns the latest values of the series health checks read.
func (s *streams) healthInputs() health.Inputs {
	in := health.Inputs{}
	s.mu.RLock()
	for _, st := range s.inputs {
		m := st.lbls.Map()
		delete(m, labels.MetricName)
		in[st.urn] = append(in[st.urn], health.Sample{Metric: st.metric, Labels: m, Value: math.Float64frombits(st.bits.Load())})
	}
	s.mu.RUnlock()
	return in
}
