package republish

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/prometheus/model/labels"
)

// TestHandlerMergesOwnMetrics: the cAdvisor recording has go_* families,
// and so has the agent's own registry; /metrics must carry each once.
func TestHandlerMergesOwnMetrics(t *testing.T) {
	url := serve(t, text(string(fixture(t, "cadvisor-v0.52.1.prom"))))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	r, err := New(Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Scrape(context.Background(), Source{Name: "cadvisor", URL: url, Render: RenderOptions{Cluster: "c", Labels: []labels.Label{{Name: "metrics_path", Value: "/metrics/cadvisor"}}}}); err != nil {
		t.Fatal(err)
	}
	for _, gz := range []bool{false, true} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		NewHandler(r, reg, nil).ServeHTTP(rec, req)
		var body io.Reader = rec.Body
		if gz {
			if rec.Header().Get("Content-Encoding") != "gzip" {
				t.Fatal("not gzipped")
			}
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		fams := families(t, b)
		g := fams["go_goroutines"]
		if g == nil || len(g.Metric) != 2 {
			t.Fatalf("go_goroutines: %v, want the recorded one and the agent's", g)
		}
		if n := strings.Count(string(b), "# TYPE go_goroutines "); n != 1 {
			t.Errorf("%d TYPE lines for go_goroutines", n)
		}
		if fams["kubetopo_scrape_source_success"] == nil || fams["container_cpu_usage_seconds_total"] == nil {
			t.Error("own scrape metrics or republished series missing")
		}
	}
}
