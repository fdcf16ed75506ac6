package events

import (
	"cmp"
	"io"
	"slices"
	"strings"

	"github.com/kubetopo/kubetopo/exporter"
)

// The family of event counts on /metrics. It is rendered by the pipeline
// itself, not gathered through a prometheus.Registry: it has a series per
// component and reason (about one per pod), and a client_golang CounterVec
// of that size cost ~1 KiB of heap per series and, on every scrape, a
// Gather that built, checked and sorted a protobuf message per series.
const (
	totalName = "kubetopo_events_total"
	totalHelp = "Kubernetes event occurrences (an event whose count goes from 3 to 5 adds 2), by the component URN they concern, category, reason and type. urn is empty for objects that are no component."
)

type counterKey struct{ urn, category, reason, typ string }

// series is one series of kubetopo_events_total, shared by the entries of
// all events that count in it.
type series struct {
	key   counterKey
	total int64
	refs  int32
	// shown: an occurrence was counted since the series was created, so it
	// is on /metrics (as a CounterVec child exists from its first Add on).
	shown bool
}

// totals holds the series of kubetopo_events_total; the pipeline's mutex
// guards it.
type totals struct {
	cluster string
	byKey   map[counterKey]*series
	// shown lists the series on /metrics in the order client_golang wrote
	// them (by category, cluster, reason, type, urn); sorted is false when
	// one was added since the last scrape, dropped ones are removed then.
	shown   []*series
	sorted  bool
	dropped int
	header  []byte
	// onChange, when set (by tests), sees every change as the old
	// CounterVec was given it: n more occurrences of key, or key removed.
	onChange func(key counterKey, n int64, removed bool)
}

func newTotals(cluster string) *totals {
	h := exporter.AppendHelp([]byte("# HELP "+totalName+" "), totalHelp)
	h = append(h, "\n# TYPE "+totalName+" counter\n"...)
	return &totals{cluster: strings.ToValidUTF8(cluster, "\uFFFD"), byKey: map[counterKey]*series{}, sorted: true, header: h}
}

// acquire returns key's series, creating it, and counts one more event in it.
func (t *totals) acquire(key counterKey) *series {
	// The text format is UTF-8 (client_golang panicked on other label
	// values); ToValidUTF8 returns a valid string itself, unallocated.
	key = counterKey{
		urn: strings.ToValidUTF8(key.urn, "\uFFFD"), category: strings.ToValidUTF8(key.category, "\uFFFD"),
		reason: strings.ToValidUTF8(key.reason, "\uFFFD"), typ: strings.ToValidUTF8(key.typ, "\uFFFD"),
	}
	s := t.byKey[key]
	if s == nil {
		s = &series{key: key}
		t.byKey[key] = s
	}
	s.refs++
	return s
}

// add counts n more occurrences in s.
func (t *totals) add(s *series, n int64) {
	s.total += n
	if t.onChange != nil {
		t.onChange(s.key, n, false)
	}
	if !s.shown {
		s.shown = true
		t.shown = append(t.shown, s)
		t.sorted = false
	}
}

// release counts one event less in s; the series goes with its last event.
func (t *totals) release(s *series) {
	if s.refs--; s.refs > 0 {
		return
	}
	delete(t.byKey, s.key)
	if t.onChange != nil {
		t.onChange(s.key, 0, true)
	}
	if s.shown {
		s.shown = false
		t.dropped++
	}
}

// tidy drops released series from the list and sorts it.
func (t *totals) tidy() {
	if t.dropped > 0 {
		t.shown = slices.DeleteFunc(t.shown, func(s *series) bool { return !s.shown })
		t.dropped = 0
	}
	if !t.sorted {
		slices.SortFunc(t.shown, func(a, b *series) int {
			return cmp.Or(
				strings.Compare(a.key.category, b.key.category),
				strings.Compare(a.key.reason, b.key.reason),
				strings.Compare(a.key.typ, b.key.typ),
				strings.Compare(a.key.urn, b.key.urn))
		})
		t.sorted = true
	}
	if cap(t.shown) > 2*len(t.shown)+64 {
		t.shown = slices.Clone(t.shown) // most series went: give the array back
	}
}

// sample is a series' count at a scrape.
type sample struct {
	s     *series
	total int64
}

// snapshot appends the series on /metrics, in order, with their counts to
// dst; the pipeline's mutex is held. A series' key never changes, so the
// snapshot can be rendered without the mutex.
func (t *totals) snapshot(dst []sample) []sample {
	t.tidy()
	for _, s := range t.shown {
		dst = append(dst, sample{s, s.total})
	}
	return dst
}

// write writes the family of a snapshot in the text format (nothing when it
// has no series, as a Gather of an empty CounterVec), in chunks through buf.
func (t *totals) write(w io.Writer, buf []byte, snap []sample) error {
	if len(snap) == 0 {
		return nil
	}
	b := append(buf[:0], t.header...)
	for _, sm := range snap {
		k := &sm.s.key
		b = append(b, totalName+`{category="`...)
		b = exporter.AppendLabelValue(b, k.category)
		b = append(b, `",cluster="`...)
		b = exporter.AppendLabelValue(b, t.cluster)
		b = append(b, `",reason="`...)
		b = exporter.AppendLabelValue(b, k.reason)
		b = append(b, `",type="`...)
		b = exporter.AppendLabelValue(b, k.typ)
		b = append(b, `",urn="`...)
		b = exporter.AppendLabelValue(b, k.urn)
		b = append(b, `"} `...)
		b = exporter.AppendFloat(b, float64(sm.total))
		b = append(b, '\n')
		if len(b) >= cap(buf)-1024 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	_, err := w.Write(b)
	return err
}
