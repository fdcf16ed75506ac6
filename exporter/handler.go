package exporter

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"

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
	logger   log.Logger
	gzips    sync.Pool
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

// NewHandler returns the /metrics handler.
func NewHandler(store *Store, g prometheus.Gatherer, logger log.Logger) *Handler {
	return &Handler{store: store, gatherer: g, logger: logger}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", contentType)
	var out io.Writer = w
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		gz, _ := h.gzips.Get().(*gzip.Writer)
		if gz == nil {
			// BestSpeed: scrapes are large and frequent, and the network
			// between Prometheus and the agent is rarely the bottleneck.
			gz, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
		} else {
			gz.Reset(w)
		}
		defer func() {
			_ = gz.Close()
			h.gzips.Put(gz)
		}()
		out = gz
	}
	if _, err := h.store.WriteTo(out); err != nil {
		level.Debug(h.logger).Log("msg", "writing topology failed", "err", err)
		return
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

func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}
