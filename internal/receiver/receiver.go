// Package receiver is what the remote-write receiver does with the data
// beyond forwarding it (docs/receiver-topology.md): it follows the topology
// in the kubetopo_* info series (internal/model), maps every other series
// onto a component (internal/mapping) and lists it as one of the
// component's telemetry streams, keeps the events the cluster agents deliver
// per component, computes health (internal/health) and exports it as
// kubetopo_component_health_state. It answers for now from memory and for a
// past time by querying the downstream TSDB (View). It depends on no decoder:
// hook.go adapts remotewrite's Processor to it.
package receiver

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubetopo/kubetopo/internal/health"
	"github.com/kubetopo/kubetopo/internal/mapping"
	"github.com/kubetopo/kubetopo/internal/model"
	"github.com/kubetopo/kubetopo/internal/promquery"
)

// Options configure a Receiver.
type Options struct {
	Mapper *mapping.Mapper // required
	// Staleness: a series not seen for this long is gone (0: 5m).
	Staleness time.Duration
	// EventRetention: events last seen longer ago are forgotten (0: 1h).
	EventRetention time.Duration
	// MaxStreams bounds the streams listed per component (0: 200); series
	// the health checks read are always kept.
	MaxStreams int
	// MaxEvents bounds the events kept per component (0: 100).
	MaxEvents int
	// HealthInterval is how often health is recomputed (0: 5s).
	HealthInterval time.Duration
	// TopologyRebuildInterval bounds how often the topology snapshot the
	// API and health read is rebuilt after changes (0: on every read after a
	// change). See model.StoreOptions.MinRebuildInterval.
	TopologyRebuildInterval time.Duration
	// Downstream is the TSDB's query API: rebuild on start and time travel.
	// Nil disables both.
	Downstream *promquery.Client
	Registerer prometheus.Registerer // nil: not registered
	Logger     log.Logger            // nil: discarded
	Now        func() time.Time      // nil: time.Now
}

// Receiver holds the live topology, streams, events and health.
type Receiver struct {
	o       Options
	mapper  *mapping.Mapper
	store   *model.Store
	streams *streams
	events  *events
	health  atomic.Pointer[healthSnap]
	m       *metrics
}

type healthSnap struct {
	graph  *model.Graph
	result health.Result
	at     time.Time
}

// New returns a Receiver.
func New(o Options) (*Receiver, error) {
	if o.Mapper == nil {
		return nil, errors.New("receiver: Options.Mapper is required")
	}
	if o.Staleness <= 0 {
		o.Staleness = 5 * time.Minute
	}
	if o.EventRetention <= 0 {
		o.EventRetention = time.Hour
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 200
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 100
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Receiver{
		o: o, mapper: o.Mapper,
		store:   model.NewStore(model.StoreOptions{Staleness: o.Staleness, Now: o.Now, MinRebuildInterval: o.TopologyRebuildInterval}),
		streams: newStreams(o.MaxStreams),
		events:  newEvents(o.MaxEvents),
	}
	r.m = newMetrics(r)
	if o.Registerer != nil {
		if err := r.m.register(o.Registerer); err != nil {
			return nil, fmt.Errorf("receiver: register metrics: %w", err)
		}
	}
	return r, nil
}

// Observe takes one sample of one series of a write (ls may be a view into
// the request's buffer: what is kept is copied). It returns the URN the
// series should be enriched with: the component it maps to when the series
// has no urn label and the component exists, else "".
func (r *Receiver) Observe(ls labels.Labels, ts int64, v float64) string {
	metric := ls.Get(labels.MetricName)
	if model.IsTopology(metric) {
		r.store.Observe(ls, ts, v)
		return ""
	}
	if metric == EventSeries {
		if r.events.observe(ls, ts, v) {
			r.m.eventsNew.Inc()
		} else {
			r.m.eventsOld.Inc()
		}
		return ""
	}
	h := ls.Hash()
	res, reason := r.mapper.MapHashed(ls, h)
	if reason != "" {
		r.m.unmapped(reason).Inc()
		return ""
	}
	if !r.store.HasComponent(res.URN) {
		r.m.unmapped(mapping.ReasonUnknownComponent).Inc()
		return ""
	}
	r.m.mapped.Inc()
	r.streams.observe(res.URN, res.Rule, h, ls, metric, ts, v)
	if res.Rule == mapping.RuleURNLabel {
		return ""
	}
	return res.URN
}

// Rebuild loads the topology, the health inputs and recent events from the
// downstream TSDB as of now, so that a new replica answers at once.
func (r *Receiver) Rebuild(ctx context.Context) error {
	if r.o.Downstream == nil {
		return nil
	}
	now := r.o.Now()
	ss, err := r.queryAll(ctx, now)
	if err != nil {
		r.m.rebuildErrors.Inc()
		return fmt.Errorf("rebuild from downstream: %w", err)
	}
	ms := now.UnixMilli()
	for _, s := range ss.topology {
		r.store.Observe(s.Labels, ms, s.V)
	}
	for _, s := range ss.inputs {
		r.Observe(s.Labels, ms, s.V)
	}
	for _, s := range ss.events {
		if e, ok := EventFromSeries(s.Labels, s.T, s.V); ok {
			r.events.add(e)
		}
	}
	c, rel := r.store.Graph().Len()
	level.Info(r.o.Logger).Log("msg", "topology rebuilt from the downstream TSDB", "components", c, "relations", rel, "health_inputs", len(ss.inputs), "events", len(ss.events))
	r.evaluate()
	return nil
}

// Run sweeps stale series and recomputes health every HealthInterval until
// ctx ends.
func (r *Receiver) Run(ctx context.Context) {
	t := time.NewTicker(r.o.HealthInterval)
	defer t.Stop()
	for {
		r.Tick()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick does one round of Run's work.
func (r *Receiver) Tick() {
	now := r.o.Now()
	r.store.Sweep()
	r.streams.sweep(now.Add(-r.o.Staleness).UnixMilli())
	r.events.expire(now.Add(-r.o.EventRetention))
	r.evaluate()
}

func (r *Receiver) evaluate() {
	start := time.Now()
	g := r.store.Graph()
	res := health.Evaluate(g, r.streams.healthInputs())
	r.health.Store(&healthSnap{graph: g, result: res, at: r.o.Now()})
	r.m.healthDuration.Set(time.Since(start).Seconds())
	r.m.healthEvaluations.Inc()
}

// Graph returns the live topology.
func (r *Receiver) Graph() *model.Graph { return r.store.Graph() }
