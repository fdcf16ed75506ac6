package events

import "github.com/prometheus/client_golang/prometheus"

// pipelineMetrics are the pipeline's metrics in the registry; the event
// counts themselves (kubetopo_events_total) are in totals.go.
type pipelineMetrics struct {
	p                                  *Pipeline
	unmapped                           *prometheus.CounterVec
	delivered, refused                 prometheus.Counter
	checkpointWrites, checkpointErrors prometheus.Counter
	pendingDesc, trackedDesc           *prometheus.Desc
}

func newPipelineMetrics(p *Pipeline) *pipelineMetrics {
	return &pipelineMetrics{
		p: p,
		unmapped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubetopo_events_unmapped_total",
			Help: "Events whose involved object is no component kubetopo knows, by the object's kind; they are still counted and delivered, with an empty urn.",
		}, []string{"kind"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubetopo_events_delivered_total",
			Help: "Event states the receiver acknowledged.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubetopo_events_refused_total",
			Help: "Event states the receiver refused (a 4xx other than 429); this run does not send them again.",
		}),
		checkpointWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubetopo_events_checkpoint_writes_total",
			Help: "Writes of the event checkpoint file.",
		}),
		checkpointErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubetopo_events_checkpoint_errors_total",
			Help: "Writes of the event checkpoint file that failed.",
		}),
		pendingDesc: prometheus.NewDesc("kubetopo_events_pending",
			"Events waiting for delivery to the receiver (queued or in flight), newest state per event.", nil, nil),
		trackedDesc: prometheus.NewDesc("kubetopo_events_tracked",
			"Events the checkpoint remembers (one per live event and per synthesised event of a live pod).", nil, nil),
	}
}

func (m *pipelineMetrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.unmapped, m.delivered, m.refused, m.checkpointWrites, m.checkpointErrors, m} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *pipelineMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.pendingDesc
	ch <- m.trackedDesc
}

func (m *pipelineMetrics) Collect(ch chan<- prometheus.Metric) {
	m.p.mu.Lock()
	pending, tracked := len(m.p.pending)+len(m.p.inflight), len(m.p.state)
	m.p.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.pendingDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(m.trackedDesc, prometheus.GaugeValue, float64(tracked))
}
