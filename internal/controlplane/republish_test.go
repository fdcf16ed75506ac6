package controlplane

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"k8s.io/client-go/rest"
)

// TestRepublishMerge scrapes a stand-in apiserver (a fixed exposition over
// HTTP) through the apiserver source and checks what the agent's page gets:
// cluster, urn and the control-plane labels on every series, and one header
// for a family both the apiserver and the agent have.
func TestRepublishMerge(t *testing.T) {
	exposition := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 300
# HELP apiserver_request_total [STABLE] Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",verb="GET"} 7
apiserver_request_total{code="200",cluster="other",verb="LIST"} 1
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(exposition))
	}))
	defer srv.Close()

	reg := prometheus.NewRegistry()
	own := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_goroutines", Help: "Number of goroutines that currently exist."})
	own.Set(12)
	reg.MustRegister(own)
	cp, err := New(Options{Cluster: "prod", Config: &rest.Config{Host: srv.URL}, Interval: time.Second, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	cp.scrapeAll(context.Background(), cp.sources(nil))

	var b strings.Builder
	if err := cp.WriteMetrics(&b, reg); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, want := range []string{
		`go_goroutines{cluster="prod",urn="urn:cluster:/kubernetes:prod",control_plane_component="apiserver",control_plane_address="` + addr + `"} 300`,
		"\ngo_goroutines 12\n",
		`apiserver_request_total{cluster="prod",urn="urn:cluster:/kubernetes:prod",control_plane_component="apiserver",control_plane_address="` + addr + `",code="200",component="apiserver",verb="GET"} 7`,
		// A series' own cluster label is kept as exported_cluster.
		`exported_cluster="other"`,
		`kubetopo_scrape_source_success{source="apiserver"} 1`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	if n := strings.Count(page, "# TYPE go_goroutines gauge\n"); n != 1 {
		t.Errorf("go_goroutines has %d TYPE lines, want 1:\n%s", n, page)
	}

	// A source that fails drops its series and says so.
	srv.Close()
	cp.scrapeAll(context.Background(), cp.sources(nil))
	b.Reset()
	if err := cp.WriteMetrics(&b, reg); err != nil {
		t.Fatal(err)
	}
	if page := b.String(); strings.Contains(page, "apiserver_request_total") || !strings.Contains(page, `kubetopo_scrape_source_success{source="apiserver"} 0`) {
		t.Errorf("after a failed scrape, want no apiserver series and success 0:\n%s", page)
	}
}

// TestSourcesLabels: every target becomes a source with its URN and the
// control-plane labels, credentials only on HTTPS.
func TestSourcesLabels(t *testing.T) {
	cp, err := New(Options{Cluster: "prod", Config: &rest.Config{Host: "https://10.96.0.1:443"}, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srcs := cp.sources([]Target{
		{Component: Scheduler, BaseURL: "https://10.0.0.1:10259", Instance: "10.0.0.1:10259", URN: "urn:kubernetes:/prod:kube-system:pod/kube-scheduler-cp-1"},
		{Component: Etcd, BaseURL: "http://10.0.0.1:2381", Instance: "10.0.0.1:2381", URN: "urn:cluster:/kubernetes:prod"},
	})
	want := []struct{ name, url, urn, component, address string }{
		{"apiserver", "https://10.96.0.1:443/metrics", "urn:cluster:/kubernetes:prod", "apiserver", "10.96.0.1:443"},
		{"scheduler/10.0.0.1:10259", "https://10.0.0.1:10259/metrics", "urn:kubernetes:/prod:kube-system:pod/kube-scheduler-cp-1", "scheduler", "10.0.0.1:10259"},
		{"etcd/10.0.0.1:2381", "http://10.0.0.1:2381/metrics", "urn:cluster:/kubernetes:prod", "etcd", "10.0.0.1:2381"},
	}
	if len(srcs) != len(want) {
		t.Fatalf("%d sources, want %d", len(srcs), len(want))
	}
	for i, w := range want {
		s := srcs[i]
		t.Run(w.name, func(t *testing.T) {
			if s.Name != w.name || s.URL != w.url {
				t.Errorf("source %s %s, want %s %s", s.Name, s.URL, w.name, w.url)
			}
			if got := s.Render.Resolve("x", labels.EmptyLabels()); got != w.urn {
				t.Errorf("urn %q, want %q", got, w.urn)
			}
			l := s.Render.Labels
			if len(l) != 2 || l[0].Name != LabelComponent || l[0].Value != w.component || l[1].Name != LabelAddress || l[1].Value != w.address {
				t.Errorf("labels %v", l)
			}
		})
	}
	if srcs[2].Client != cp.plain || srcs[1].Client != cp.secure || srcs[0].Client != cp.apiHTTP {
		t.Errorf("clients: etcd over HTTP must get the plain client (no credentials), the scheduler the secure one, the apiserver the agent's")
	}
}
