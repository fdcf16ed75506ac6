// Package server runs a kubetopo binary's HTTP endpoint the way Prometheus
// exporters do: exporter-toolkit for --web.listen-address and
// --web.config.file (TLS, basic auth), a landing page, and health endpoints.
package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/kubetopo/kubetopo/internal/logging"
)

// Options describe one binary's endpoint.
type Options struct {
	Name        string // e.g. "kubetopo-cluster-agent"
	Description string
	MetricsPath string
	Metrics     http.Handler
	// Ready reports readiness for /-/ready; nil means always ready.
	Ready  func() bool
	Extra  map[string]http.Handler // more routes, e.g. the receiver's API
	Links  []web.LandingLinks
	Flags  *web.FlagConfig
	Logger log.Logger
	// ShutdownTimeout bounds the wait for in-flight requests on shutdown
	// (default 5s).
	ShutdownTimeout time.Duration
}

// Mux returns the routes without serving them (tests use it with httptest).
func Mux(o Options) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	mux.Handle(o.MetricsPath, o.Metrics)
	for p, h := range o.Extra {
		mux.Handle(p, h)
	}
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if o.Ready != nil && !o.Ready() {
			http.Error(w, "Not ready: informers have not synced yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	if o.MetricsPath != "/" {
		links := append([]web.LandingLinks{{Address: o.MetricsPath, Text: "Metrics"}}, o.Links...)
		links = append(links, web.LandingLinks{Address: "/-/ready", Text: "Readiness"})
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name: o.Name, Description: o.Description, Version: version.Info(), Links: links,
		})
		if err != nil {
			return nil, fmt.Errorf("landing page: %w", err)
		}
		mux.Handle("/", landing)
	}
	return mux, nil
}

// Run serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, o Options) error {
	mux, err := Mux(o)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, o.Flags, logging.Slog(o.Logger)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		timeout := o.ShutdownTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			level.Warn(o.Logger).Log("msg", "shutdown", "err", err)
		}
		return nil
	}
}
