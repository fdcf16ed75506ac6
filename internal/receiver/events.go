package receiver

import (
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

// EventSeries is the remote-write series the cluster agent delivers events
// as (docs/events.md): labels describe the event, the value is its count and
// the sample timestamp its last-seen time.
const EventSeries = "kubetopo_event"

// Event is one Kubernetes event as kept for its component.
type Event struct {
	Cluster   string    `json:"cluster"`
	URN       string    `json:"urn"`
	UID       string    `json:"uid"`
	Category  string    `json:"category"`
	Reason    string    `json:"reason"`
	Type      string    `json:"type"`
	Kind      string    `json:"kind,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	Name      string    `json:"name,omitempty"`
	FieldPath string    `json:"field_path,omitempty"`
	Source    string    `json:"source,omitempty"`
	Message   string    `json:"message"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen"`
}

// EventFromSeries decodes a kubetopo_event sample; ok is false when it lacks
// a urn or uid.
func EventFromSeries(ls labels.Labels, ts int64, v float64) (Event, bool) {
	if math.IsNaN(v) || ls.Get("urn") == "" || ls.Get("uid") == "" {
		return Event{}, false
	}
	g := func(n string) string { return strings.Clone(ls.Get(n)) }
	e := Event{
		Cluster: g("cluster"), URN: g("urn"), UID: g("uid"), Category: g("category"), Reason: g("reason"),
		Type: g("type"), Kind: g("kind"), Namespace: g("namespace"), Name: g("name"), FieldPath: g("field_path"),
		Source: g("source"), Message: g("message"), Count: int64(v), LastSeen: time.UnixMilli(ts).UTC(),
	}
	if fs := ls.Get("first_seen"); fs != "" {
		if t, err := time.Parse(time.RFC3339, fs); err == nil {
			e.FirstSeen = t.UTC()
		}
	}
	return e, true
}

// events keeps the newest events of each component, deduplicated by (uid,
// count): the same occurrence delivered again (a retry, a second sender) is
// kept once; a higher count of the same event replaces the lower.
type events struct {
	max int

	mu    sync.Mutex
	byURN map[string][]Event // newest (by LastSeen) first, at most max
}

func newEvents(max int) *events { return &events{max: max, byURN: map[string][]Event{}} }

// observe records an event sample; it returns true when the event was new
// or newer.
func (s *events) observe(ls labels.Labels, ts int64, v float64) bool {
	if value.IsStaleNaN(v) {
		return false // an event series ending says nothing about the event
	}
	e, ok := EventFromSeries(ls, ts, v)
	if !ok {
		return false
	}
	return s.add(e)
}

func (s *events) add(e Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.byURN[e.URN]
	for i := range list {
		if list[i].UID != e.UID {
			continue
		}
		if e.Count <= list[i].Count {
			return false
		}
		list = append(list[:i], list[i+1:]...)
		break
	}
	// Insert in LastSeen order, newest first.
	i := sort.Search(len(list), func(i int) bool { return list[i].LastSeen.Before(e.LastSeen) })
	if i >= s.max {
		return false // older than everything kept
	}
	list = append(list, Event{})
	copy(list[i+1:], list[i:])
	list[i] = e
	if len(list) > s.max {
		list = list[:s.max]
	}
	s.byURN[e.URN] = list
	return true
}

// list returns up to limit events of a component, newest first.
func (s *events) list(urn string, limit int) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.byURN[urn]
	if limit > 0 && len(l) > limit {
		l = l[:limit]
	}
	return append([]Event(nil), l...)
}

// expire drops events last seen before cutoff; events of a deleted
// component stay listed until then (why a pod died is worth knowing).
func (s *events) expire(cutoff time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for urn, l := range s.byURN {
		i := sort.Search(len(l), func(i int) bool { return l[i].LastSeen.Before(cutoff) })
		n += len(l) - i
		if i == 0 {
			delete(s.byURN, urn)
		} else {
			s.byURN[urn] = l[:i]
		}
	}
	return n
}
