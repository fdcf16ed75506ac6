package mapping

import (
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubetopo/kubetopo/topology"
)

// Reasons a series maps to no component (the `reason` label of
// kubetopo_receiver_unmapped_series_total).
const (
	ReasonNoRule        = "no_rule"        // no rule matches the metric name
	ReasonMissingLabels = "missing_labels" // rules match the name, none finds its labels
	ReasonNoCluster     = "no_cluster"     // a rule applies but the series has no cluster label
	// ReasonUnknownComponent is given by callers that check the URN against
	// the topology: the URN is well formed but no such component exists.
	ReasonUnknownComponent = "unknown_component"
)

// RuleURNLabel is Result.Rule for series mapped by their own `urn` label.
const RuleURNLabel = "urn-label"

// Result is where a series belongs.
type Result struct {
	URN  string
	Type string // the rule's component type; "" for RuleURNLabel
	Rule string
}

// Options tune a Mapper.
type Options struct {
	// CacheSize bounds the interned URNs and cached metric names; when full
	// the cache starts afresh. Zero means 1,000,000 (label sets: a quarter of it).
	CacheSize int
}

// Mapper applies a rules Config. It is safe for concurrent use. Map does no
// allocation once a metric name and a URN have been seen.
type Mapper struct {
	cfg       *Config
	cacheSize int

	nameMu sync.RWMutex
	byName map[string][]int32 // metric name → indexes of the rules that match it

	urnMu sync.RWMutex
	urns  map[string]string // interned URNs

	setMu sync.RWMutex
	sets  map[uint64]cached // label-set hash → result
}

type cached struct {
	res    Result
	reason string
}

// New returns a Mapper for a validated Config (from Parse or LoadFile).
func New(cfg *Config, o Options) *Mapper {
	if o.CacheSize <= 0 {
		o.CacheSize = 1_000_000
	}
	return &Mapper{cfg: cfg, cacheSize: o.CacheSize, byName: map[string][]int32{}, urns: map[string]string{}, sets: map[uint64]cached{}}
}

// Config returns the rules in use.
func (m *Mapper) Config() *Config { return m.cfg }

// Map finds the component a series belongs to. ls may point into a buffer
// the caller reuses; the returned strings do not. Results are cached by the
// label set's 64-bit hash (a collision, about one in 10^19 for a million
// series, would give one series another's component).
func (m *Mapper) Map(ls labels.Labels) (Result, string) { return m.MapHashed(ls, ls.Hash()) }

// MapHashed is Map for a caller that has already computed ls.Hash().
func (m *Mapper) MapHashed(ls labels.Labels, h uint64) (Result, string) {
	m.setMu.RLock()
	c, ok := m.sets[h]
	m.setMu.RUnlock()
	if ok {
		return c.res, c.reason
	}
	res, reason := m.mapUncached(ls)
	m.setMu.Lock()
	if len(m.sets) >= m.cacheSize {
		m.sets = map[uint64]cached{}
	}
	m.sets[h] = cached{res, reason}
	m.setMu.Unlock()
	return res, reason
}

func (m *Mapper) mapUncached(ls labels.Labels) (Result, string) {
	if urn := ls.Get("urn"); urn != "" {
		return Result{URN: m.internString(urn), Rule: RuleURNLabel}, ""
	}
	cands := m.candidates(ls.Get(labels.MetricName))
	if len(cands) == 0 {
		return Result{}, ReasonNoRule
	}
	cluster := ls.Get(m.cfg.ClusterLabel)
	var arr [256]byte
	for _, i := range cands {
		r := &m.cfg.Rules[i]
		buf, ok := r.urn(arr[:0], cluster, ls)
		if !ok {
			continue
		}
		if cluster == "" {
			return Result{}, ReasonNoCluster
		}
		return Result{URN: m.intern(buf), Type: r.Component, Rule: r.Name}, ""
	}
	return Result{}, ReasonMissingLabels
}

// candidates returns the rules whose match accepts the metric name.
func (m *Mapper) candidates(name string) []int32 {
	m.nameMu.RLock()
	c, ok := m.byName[name]
	m.nameMu.RUnlock()
	if ok {
		return c
	}
	for i := range m.cfg.Rules {
		if m.cfg.Rules[i].Match.matches(name) {
			c = append(c, int32(i))
		}
	}
	m.nameMu.Lock()
	if len(m.byName) >= m.cacheSize {
		m.byName = map[string][]int32{}
	}
	m.byName[strings.Clone(name)] = c
	m.nameMu.Unlock()
	return c
}

func (m *Mapper) internString(u string) string {
	m.urnMu.RLock()
	s, ok := m.urns[u]
	m.urnMu.RUnlock()
	if ok {
		return s
	}
	return m.intern([]byte(u))
}

func (m *Mapper) intern(b []byte) string {
	m.urnMu.RLock()
	s, ok := m.urns[string(b)]
	m.urnMu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	m.urnMu.Lock()
	if len(m.urns) >= m.cacheSize {
		m.urns = map[string]string{}
	}
	m.urns[s] = s
	m.urnMu.Unlock()
	return s
}

// value returns the first non-empty, non-excluded value of a role.
func (r *Rule) value(ls labels.Labels, role string) string {
	for _, n := range r.Labels[role] {
		v := ls.Get(n)
		if v == "" {
			continue
		}
		if r.TrimPort {
			v = trimPort(v)
		}
		return v
	}
	return ""
}

// urn appends the component's URN to buf; false when a label is missing or
// excluded. The URN grammar is topology.URNs'.
func (r *Rule) urn(buf []byte, cluster string, ls labels.Labels) ([]byte, bool) {
	for n, vals := range r.Exclude {
		v := ls.Get(n)
		for _, x := range vals {
			if v == x {
				return nil, false
			}
		}
	}
	buf = append(buf, "urn:kubernetes:/"...)
	buf = append(buf, cluster...)
	switch r.Component {
	case topology.TypeContainer:
		ns, pod, c := r.value(ls, "namespace"), r.value(ls, "pod"), r.value(ls, "container")
		if ns == "" || pod == "" || c == "" {
			return nil, false
		}
		buf = append(buf, ':')
		buf = append(buf, ns...)
		buf = append(buf, ":pod/"...)
		buf = append(buf, pod...)
		buf = append(buf, ":container/"...)
		buf = append(buf, c...)
	case topology.TypeNamespace, topology.TypeNode, topology.TypePersistentVolume:
		name := r.value(ls, "name")
		if name == "" {
			return nil, false
		}
		buf = append(buf, ':')
		buf = append(buf, r.Component...)
		buf = append(buf, '/')
		buf = append(buf, name...)
	default:
		ns, name := r.value(ls, "namespace"), r.value(ls, "name")
		if ns == "" || name == "" {
			return nil, false
		}
		buf = append(buf, ':')
		buf = append(buf, ns...)
		buf = append(buf, ':')
		buf = append(buf, r.Component...)
		buf = append(buf, '/')
		buf = append(buf, name...)
	}
	return buf, true
}

// trimPort cuts ":<digits>" off "host:port" and the brackets off "[v6]:port".
func trimPort(v string) string {
	i := strings.LastIndexByte(v, ':')
	if i < 0 || i == len(v)-1 {
		return v
	}
	for _, c := range v[i+1:] {
		if c < '0' || c > '9' {
			return v
		}
	}
	host := v[:i]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return host[1 : len(host)-1]
	}
	if strings.Contains(host, ":") {
		return v // a bare IPv6 address, no port
	}
	return host
}
