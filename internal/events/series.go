package events

import (
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/prompb"
)

// SeriesName is the remote-write series of events; docs/events.md specifies it.
const SeriesName = "kubetopo_event"

// DefaultMessageMax is the default limit, in bytes, of the message label.
const DefaultMessageMax = 1024

// truncated ends a message cut to the limit.
const truncated = "…"

// Series renders one event occurrence-state as a remote-write series: labels
// identify the event and describe it, the sample's value is its count and its
// timestamp (ms) its last-seen time, or tsMS when that is later.
func Series(cluster string, ev Event, messageMax int, tsMS int64) prompb.TimeSeries {
	labels := []prompb.Label{
		{Name: "__name__", Value: SeriesName},
		{Name: "cluster", Value: cluster},
		{Name: "urn", Value: ev.URN},
		{Name: "uid", Value: ev.UID},
		{Name: "category", Value: string(ev.Category)},
		{Name: "reason", Value: ev.Reason},
		{Name: "type", Value: ev.Type},
		{Name: "kind", Value: ev.Involved.Kind},
		{Name: "namespace", Value: ev.Involved.Namespace},
		{Name: "name", Value: ev.Involved.Name},
		{Name: "field_path", Value: ev.Involved.FieldPath},
		{Name: "source", Value: ev.Source},
		{Name: "message", Value: Truncate(ev.Message, messageMax)},
		{Name: "first_seen", Value: ev.First.UTC().Format(time.RFC3339)},
	}
	kept := labels[:0]
	for _, l := range labels {
		if l.Value = strings.ToValidUTF8(l.Value, "\uFFFD"); l.Value != "" {
			kept = append(kept, l)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].Name < kept[j].Name })
	return prompb.TimeSeries{
		Labels:  kept,
		Samples: []prompb.Sample{{Value: float64(ev.Count), Timestamp: tsMS}},
	}
}

// Truncate cuts s to at most max bytes on a UTF-8 boundary, ending it with
// "…" when it was cut. max <= 0 means no limit.
func Truncate(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max - len(truncated)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncated
}
