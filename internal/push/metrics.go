package push

import "github.com/prometheus/client_golang/prometheus"

type clientMetrics struct {
	sent, failed, retries prometheus.Counter
	requests              *prometheus.CounterVec
	duration              prometheus.Observer
}

// The families are shared by every Client on a registry: each registers its
// stream's series and reuses the family a previous one registered.
func newClientMetrics(r prometheus.Registerer, stream string) (*clientMetrics, error) {
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kubetopo_remote_write_samples_sent_total",
		Help: "Samples the receiver acknowledged.",
	}, []string{"stream"})
	failed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kubetopo_remote_write_samples_failed_total",
		Help: "Samples the receiver refused for good (4xx other than 429); not retried.",
	}, []string{"stream"})
	retries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kubetopo_remote_write_retries_total",
		Help: "Requests sent again after a 5xx, a 429 or a network error.",
	}, []string{"stream"})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kubetopo_remote_write_requests_total",
		Help: "Remote-write requests by HTTP status code (error: no response).",
	}, []string{"stream", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kubetopo_remote_write_request_duration_seconds",
		Help:    "Duration of remote-write requests.",
		Buckets: prometheus.ExponentialBuckets(0.005, 4, 8),
	}, []string{"stream"})
	var err error
	if sent, err = registerVec(r, sent); err != nil {
		return nil, err
	}
	if failed, err = registerVec(r, failed); err != nil {
		return nil, err
	}
	if retries, err = registerVec(r, retries); err != nil {
		return nil, err
	}
	if requests, err = registerVec(r, requests); err != nil {
		return nil, err
	}
	if err := r.Register(duration); err != nil {
		are := prometheus.AlreadyRegisteredError{}
		if !asAlreadyRegistered(err, &are) {
			return nil, err
		}
		duration = are.ExistingCollector.(*prometheus.HistogramVec)
	}
	return &clientMetrics{
		sent: sent.WithLabelValues(stream), failed: failed.WithLabelValues(stream), retries: retries.WithLabelValues(stream),
		requests: requests.MustCurryWith(prometheus.Labels{"stream": stream}), duration: duration.WithLabelValues(stream),
	}, nil
}

func registerVec(r prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := r.Register(c); err != nil {
		are := prometheus.AlreadyRegisteredError{}
		if !asAlreadyRegistered(err, &are) {
			return nil, err
		}
		return are.ExistingCollector.(*prometheus.CounterVec), nil
	}
	return c, nil
}

func asAlreadyRegistered(err error, are *prometheus.AlreadyRegisteredError) bool {
	e, ok := err.(prometheus.AlreadyRegisteredError)
	if ok {
		*are = e
	}
	return ok
}
