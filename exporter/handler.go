package exporter

import (
	"io"
	"net/http"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// contentType is the classic text exposition format: what kube-state-metrics
// serves and what every Prometheus since 2.0 reads.
var contentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// Handler serves a Store's topology followed by a gatherer's metrics (the
// agent's own health, build info, Go runtime) on one endpoint.
type Handler struct {
	store    *Store
	gatherer prometheus.Gatherer
	metrics  MetricsWriter
	families []FamilyWriter
	logger   log.Logger
	gzips    GzipPool
}

// MetricsWriter writes the gatherer's metrics together with series from
// elsewhere (the control plane's, republished), merged family by family so
// that a name both carry (go_goroutines) has one header.
type MetricsWriter interface {
	WriteMetrics(w io.Writer, g prometheus.Gatherer) error
}

// WithMetricsWriter makes h write what follows the topology through m.
func (h *Handler) WithMetricsWriter(m MetricsWriter) *Handler {
	h.metrics = m
	return h
}

// FamilyWriter writes whole metric families in the text format, rendered by
// their owner instead of gathered: the events pipeline's counts have a series
// per component, too many for a client_golang Gather on every scrape. The
// families must have names of their own, in no gatherer of the handler.
type FamilyWriter interface {
	WriteMetrics(w io.Writer) error
}

// WithFamilies makes h write fs' families after the topology.
func (h *Handler) WithFamilies(fs ...FamilyWriter) *Handler {
	h.families = append(h.families, fs...)
	return h
}

// NewHandler returns the /metrics handler.
func NewHandler(store *Store, g prometheus.Gatherer, logger log.Logger) *Handler {
	return &Handler{store: store, gatherer: g, logger: logger}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", contentType)
	out, done := h.gzips.Writer(w, r)
	defer done()
	if _, err := h.store.WriteTo(out); err != nil {
		level.Debug(h.logger).Log("msg", "writing topology failed", "err", err)
		return
	}
	for _, f := range h.families {
		if err := f.WriteMetrics(out); err != nil {
			level.Debug(h.logger).Log("msg", "writing metrics failed", "err", err)
			return
		}
	}
	if h.metrics != nil {
		if err := h.metrics.WriteMetrics(out, h.gatherer); err != nil {
			level.Warn(h.logger).Log("msg", "writing the metrics after the topology failed", "err", err)
		}
		return
	}
	mfs, err := h.gatherer.Gather()
	if err != nil {
		level.Error(h.logger).Log("msg", "gathering the agent's own metrics failed", "err", err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(out, mf); err != nil {
			level.Debug(h.logger).Log("msg", "writing metrics failed", "err", err)
			return
		}
	}
}
