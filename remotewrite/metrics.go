package remotewrite

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests       *prometheus.CounterVec   // protocol, code
	duration       *prometheus.HistogramVec // protocol
	received       *prometheus.CounterVec   // protocol, type
	bytes          *prometheus.CounterVec   // protocol, encoding
	inFlight       prometheus.Gauge
	maxInFlight    prometheus.Gauge
	rejected       *prometheus.CounterVec // reason
	fwdRequests    *prometheus.CounterVec // downstream, code, mode
	fwdDuration    *prometheus.HistogramVec
	fwdSent        *prometheus.CounterVec // downstream, type
	fwdBytes       *prometheus.CounterVec // downstream
	processorError prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "kubetopo", "receiver"
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Remote-write requests received, by protocol (1.0, 2.0, unknown) and HTTP status code."}, []string{"protocol", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "Time to handle a remote-write request, forwarding included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"protocol"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "received_total",
			Help: "Samples, histogram samples, exemplars and metadata entries in well-formed, authenticated requests, by type."}, []string{"protocol", "type"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "received_bytes_total",
			Help: "Bytes of request bodies read, compressed and decoded."}, []string{"protocol", "encoding"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "in_flight_requests",
			Help: "Remote-write requests being handled."}),
		maxInFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "max_in_flight_requests",
			Help: "The limit of concurrently handled requests (--write.max-in-flight); more get 503."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rejected_requests_total",
			Help: "Requests rejected before forwarding, by reason."}, []string{"reason"}),
		fwdRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "forward_requests_total",
			Help: "Requests sent downstream, by downstream, status code (or error) and mode (passthrough: the sender's body; reencoded)."}, []string{"downstream", "code", "mode"}),
		fwdDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "forward_duration_seconds",
			Help:    "Latency of requests to a downstream.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"downstream"}),
		fwdSent: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "forwarded_total",
			Help: "Samples, histogram samples and exemplars a downstream acknowledged, by type."}, []string{"downstream", "type"}),
		fwdBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "forward_bytes_total",
			Help: "Compressed bytes sent to a downstream."}, []string{"downstream"}),
		processorError: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "processor_errors_total",
			Help: "Requests the processor failed (answered 500, the sender retries)."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.received, m.bytes, m.inFlight, m.maxInFlight, m.rejected,
			m.fwdRequests, m.fwdDuration, m.fwdSent, m.fwdBytes, m.processorError)
	}
	return m
}
