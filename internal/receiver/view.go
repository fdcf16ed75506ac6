package receiver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubetopo/kubetopo/internal/health"
	"github.com/kubetopo/kubetopo/internal/model"
	"github.com/kubetopo/kubetopo/internal/promquery"
)

// ErrNoDownstream is returned for a past time when no query API is set.
var ErrNoDownstream = errors.New("no downstream query API configured (--downstream.query-url): time travel is off")

// View is the topology, health, streams and events at one instant: now
// (from memory) or a past time (from the downstream TSDB).
type View struct {
	Time   time.Time // the instant; for now, when health was last computed
	Live   bool
	Graph  *model.Graph
	Health health.Result

	streams func(urn string) []Stream
	events  func(urn string, limit int) []Event
}

// Streams lists a component's telemetry streams. For a past time these are
// the series the health checks read (the full list is live only).
func (v *View) Streams(urn string) []Stream { return v.streams(urn) }

// Events lists up to limit events of a component, newest first.
func (v *View) Events(urn string, limit int) []Event { return v.events(urn, limit) }

// Now returns the live view.
func (r *Receiver) Now() *View {
	hs := r.health.Load()
	if hs == nil || hs.graph != r.store.Graph() {
		r.evaluate()
		hs = r.health.Load()
	}
	return &View{Time: hs.at, Live: true, Graph: hs.graph, Health: hs.result, streams: r.streams.list, events: r.events.list}
}

// At returns the view at a past time t, built from the downstream TSDB: the
// topology series, the health checks' inputs and the events as they were at
// t (instant queries with the TSDB's lookback).
func (r *Receiver) At(ctx context.Context, t time.Time) (*View, error) {
	if r.o.Downstream == nil {
		return nil, ErrNoDownstream
	}
	ss, err := r.queryAll(ctx, t)
	if err != nil {
		return nil, err
	}
	b := model.NewBuilder()
	for _, s := range ss.topology {
		b.Add(s.Labels.Get(labels.MetricName), s.Labels)
	}
	g := b.Graph()
	in := health.Inputs{}
	streams := map[string][]Stream{}
	for _, s := range ss.inputs {
		res, reason := r.mapper.Map(s.Labels)
		if reason != "" || !g.Has(res.URN) {
			continue
		}
		m := s.Labels.Map()
		metric := m[labels.MetricName]
		delete(m, labels.MetricName)
		in[res.URN] = append(in[res.URN], health.Sample{Metric: metric, Labels: m, Value: s.V})
		streams[res.URN] = append(streams[res.URN], Stream{Metric: metric, Labels: m, Rule: res.Rule, Value: s.V, Timestamp: s.T})
	}
	for _, l := range streams {
		sortStreams(l)
	}
	// One event per uid (its message may have changed, making another
	// series), with its highest count, as the live store keeps it.
	best := map[string]Event{}
	for _, s := range ss.events {
		if e, ok := EventFromSeries(s.Labels, s.T, s.V); ok {
			k := e.URN + "\x00" + e.UID
			if cur, ok := best[k]; !ok || e.Count > cur.Count {
				best[k] = e
			}
		}
	}
	evs := map[string][]Event{}
	for _, e := range best {
		evs[e.URN] = append(evs[e.URN], e)
	}
	for _, l := range evs {
		sort.Slice(l, func(i, j int) bool { return l[i].LastSeen.After(l[j].LastSeen) })
	}
	return &View{
		Time: t, Graph: g, Health: health.Evaluate(g, in),
		streams: func(urn string) []Stream { return streams[urn] },
		events: func(urn string, limit int) []Event {
			l := evs[urn]
			if limit > 0 && len(l) > limit {
				l = l[:limit]
			}
			return l
		},
	}, nil
}

type queried struct {
	topology, inputs, events []promquery.Sample
}

// Queries the views are built from; exported in the docs.
var (
	topologyQuery = `{__name__=~"` + model.ComponentInfo + "|" + model.ComponentLabels + "|" + model.RelationInfo + `"}`
	inputsQuery   = `{__name__=~"` + strings.Join(health.Metrics, "|") + `"}`
	// The events whose last occurrence falls in the hour before t: a range
	// selector returns raw samples with their own timestamps (the last-seen
	// times), of which the client keeps each series' last.
	eventsQuery = EventSeries + `[1h]`
)

func (r *Receiver) queryAll(ctx context.Context, t time.Time) (*queried, error) {
	c := r.o.Downstream
	var q queried
	var err error
	if q.topology, err = c.Query(ctx, topologyQuery, t); err != nil {
		return nil, err
	}
	if q.inputs, err = c.Query(ctx, inputsQuery, t); err != nil {
		return nil, err
	}
	q.inputs = preferEnriched(q.inputs)
	if q.events, err = c.Query(ctx, eventsQuery, t); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return &q, nil
}

// preferEnriched drops a series when the same series with a urn label is
// there too. A receiver forwards a series without urn until its component is
// known and with it afterwards: to the TSDB these are two series, and the
// older one, never ended by a staleness marker, stays visible for the
// lookback with its last, outdated value.
func preferEnriched(ss []promquery.Sample) []promquery.Sample {
	enriched := map[string]bool{}
	key := func(ls labels.Labels) string {
		return labels.NewBuilder(ls).Del("urn").Labels().String()
	}
	for _, s := range ss {
		if s.Labels.Has("urn") {
			enriched[key(s.Labels)] = true
		}
	}
	out := ss[:0]
	for _, s := range ss {
		if !s.Labels.Has("urn") && enriched[key(s.Labels)] {
			continue
		}
		out = append(out, s)
	}
	return out
}
