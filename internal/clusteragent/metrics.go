package clusteragent

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the agent's own health: per-resource informer state, watch
// restarts, events and objects, and the size of the topology.
type metrics struct {
	a               *Agent
	listWatchErrors *prometheus.CounterVec
	events          *prometheus.CounterVec
	syncedDesc      *prometheus.Desc
	objectsDesc     *prometheus.Desc
	compDesc        *prometheus.Desc
	relDesc         *prometheus.Desc
	queueDesc       *prometheus.Desc
}

func newMetrics(a *Agent) *metrics {
	return &metrics{
		a: a,
		listWatchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubetopo_list_watch_errors_total",
			Help: "Lists or watches of a resource that failed (the apiserver unreachable, forbidden, ...); the informer retries with backoff.",
		}, []string{"resource"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubetopo_watch_events_total",
			Help: "Informer events received, by resource and event (add, update, delete).",
		}, []string{"resource", "event"}),
		syncedDesc: prometheus.NewDesc("kubetopo_informer_synced",
			"1 when the resource's informer has completed its initial list, else 0.", []string{"resource"}, nil),
		objectsDesc: prometheus.NewDesc("kubetopo_informer_objects",
			"Objects in the resource's informer cache.", []string{"resource"}, nil),
		compDesc: prometheus.NewDesc("kubetopo_components",
			"Components in the topology, by type.", []string{"type"}, nil),
		relDesc: prometheus.NewDesc("kubetopo_relations",
			"Relations published (both ends exist), by type.", []string{"type"}, nil),
		queueDesc: prometheus.NewDesc("kubetopo_queue_depth",
			"Objects changed but not yet applied to the topology.", nil, nil),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.listWatchErrors, m.events, m} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	for _, w := range m.a.kinds {
		m.listWatchErrors.WithLabelValues(w.kind.Resource)
	}
	return nil
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.syncedDesc
	ch <- m.objectsDesc
	ch <- m.compDesc
	ch <- m.relDesc
	ch <- m.queueDesc
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, w := range m.a.kinds {
		synced := 0.0
		if w.informer.HasSynced() {
			synced = 1
		}
		ch <- prometheus.MustNewConstMetric(m.syncedDesc, prometheus.GaugeValue, synced, w.kind.Resource)
		ch <- prometheus.MustNewConstMetric(m.objectsDesc, prometheus.GaugeValue, float64(len(w.informer.GetStore().ListKeys())), w.kind.Resource)
	}
	comps, rels := m.a.store.Counts()
	for t, n := range comps {
		ch <- prometheus.MustNewConstMetric(m.compDesc, prometheus.GaugeValue, float64(n), t)
	}
	for t, n := range rels {
		ch <- prometheus.MustNewConstMetric(m.relDesc, prometheus.GaugeValue, float64(n), t)
	}
	ch <- prometheus.MustNewConstMetric(m.queueDesc, prometheus.GaugeValue, float64(m.a.queue.Len()))
}
