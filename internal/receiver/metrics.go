package receiver

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubetopo/kubetopo/internal/health"
	"github.com/kubetopo/kubetopo/internal/mapping"
)

// HealthStateMetric is the health series: one per component and state, 1
// for the component's current state and 0 for the others (kube-state-metrics
// style). The state is the propagated one StackState colours a component
// with (the worse of its own checks and its dependencies').
const HealthStateMetric = "kubetopo_component_health_state"

type metrics struct {
	r                 *Receiver
	unmappedVec       *prometheus.CounterVec
	unmappedByReason  map[string]prometheus.Counter
	mapped            prometheus.Counter
	eventsNew         prometheus.Counter
	eventsOld         prometheus.Counter
	rebuildErrors     prometheus.Counter
	healthEvaluations prometheus.Counter
	healthDuration    prometheus.Gauge

	healthDesc, compsDesc, relsDesc, topoSeriesDesc, streamsDesc *prometheus.Desc
}

func newMetrics(r *Receiver) *metrics {
	m := &metrics{
		r: r,
		unmappedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubetopo_receiver_unmapped_series_total",
			Help: "Series received that map to no component, by reason (no_rule, missing_labels, no_cluster, unknown_component). Counted once per series per write.",
		}, []string{"reason"}),
		mapped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubetopo_receiver_mapped_series_total",
			Help: "Series received that map to a component. Counted once per series per write.",
		}),
		eventsNew: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubetopo_receiver_events_received_total",
			Help: "Event samples that were new or a newer count of a kept event.",
		}),
		eventsOld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubetopo_receiver_events_duplicate_total",
			Help: "Event samples already kept (same uid and count), older than what is kept, or malformed.",
		}),
		rebuildErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubetopo_receiver_topology_rebuild_errors_total",
			Help: "Failed rebuilds of the topology from the downstream TSDB.",
		}),
		healthEvaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubetopo_receiver_health_evaluations_total",
			Help: "Health computations of the whole topology.",
		}),
		healthDuration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubetopo_receiver_health_evaluation_duration_seconds",
			Help: "Duration of the last health computation.",
		}),
		healthDesc: prometheus.NewDesc(HealthStateMetric,
			"Health state of a component: 1 for its current state, 0 for the others. The propagated state: the worse of its own checks and what it depends on.",
			[]string{"cluster", "urn", "type", "state"}, nil),
		compsDesc:      prometheus.NewDesc("kubetopo_receiver_components", "Components in the receiver's topology.", []string{"cluster", "type"}, nil),
		relsDesc:       prometheus.NewDesc("kubetopo_receiver_relations", "Relations in the receiver's topology.", []string{"cluster", "type"}, nil),
		topoSeriesDesc: prometheus.NewDesc("kubetopo_receiver_topology_series", "Topology info series followed.", nil, nil),
		streamsDesc:    prometheus.NewDesc("kubetopo_receiver_streams", "Mapped series listed as telemetry streams.", nil, nil),
	}
	m.unmappedByReason = map[string]prometheus.Counter{}
	for _, reason := range []string{mapping.ReasonNoRule, mapping.ReasonMissingLabels, mapping.ReasonNoCluster, mapping.ReasonUnknownComponent} {
		m.unmappedByReason[reason] = m.unmappedVec.WithLabelValues(reason)
	}
	return m
}

func (m *metrics) unmapped(reason string) prometheus.Counter {
	if c, ok := m.unmappedByReason[reason]; ok {
		return c
	}
	return m.unmappedVec.WithLabelValues(reason)
}

func (m *metrics) register(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{m.unmappedVec, m.mapped, m.eventsNew, m.eventsOld, m.rebuildErrors, m.healthEvaluations, m.healthDuration, m} {
		errs = append(errs, reg.Register(c))
	}
	return errors.Join(errs...)
}

// Describe and Collect make the topology-derived series a collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.healthDesc
	ch <- m.compsDesc
	ch <- m.relsDesc
	ch <- m.topoSeriesDesc
	ch <- m.streamsDesc
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	hs := m.r.health.Load()
	if hs != nil {
		for _, c := range hs.graph.Components() {
			h, ok := hs.result[c.URN]
			if !ok || h.State == health.Unknown {
				continue // no checks and nothing to propagate: no series (cardinality)
			}
			for _, s := range health.States {
				v := 0.0
				if s == h.State {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(m.healthDesc, prometheus.GaugeValue, v, c.Cluster, c.URN, c.Type, s.String())
			}
		}
	}
	g := m.r.store.Graph()
	type key struct{ cluster, typ string }
	comps, rels := map[key]int{}, map[key]int{}
	for _, c := range g.Components() {
		comps[key{c.Cluster, c.Type}]++
	}
	for _, r := range g.Relations() {
		rels[key{r.Cluster, r.Type}]++
	}
	for k, n := range comps {
		ch <- prometheus.MustNewConstMetric(m.compsDesc, prometheus.GaugeValue, float64(n), k.cluster, k.typ)
	}
	for k, n := range rels {
		ch <- prometheus.MustNewConstMetric(m.relsDesc, prometheus.GaugeValue, float64(n), k.cluster, k.typ)
	}
	ch <- prometheus.MustNewConstMetric(m.topoSeriesDesc, prometheus.GaugeValue, float64(m.r.store.Len()))
	ch <- prometheus.MustNewConstMetric(m.streamsDesc, prometheus.GaugeValue, float64(m.r.streams.len()))
}
