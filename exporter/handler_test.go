package exporter

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubetopo/kubetopo/topology"
)

func TestHandler(t *testing.T) {
	s := NewStore("c", nil)
	s.Update("pod", topology.Result{Components: []topology.Component{{URN: "urn:p", Type: "pod", Name: "p", Labels: map[string]string{"app": "x"}}}})
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubetopo_test_gauge", Help: "A gauge."})
	g.Set(3)
	reg.MustRegister(g)
	srv := httptest.NewServer(NewHandler(s, reg, log.NewNopLogger()))
	defer srv.Close()

	for _, tc := range []struct {
		name, acceptEncoding string
		gzipped              bool
	}{
		{"plain", "", false},
		{"gzip", "gzip, deflate", true},
		{"gzip refused", "gzip;q=0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept-Encoding", tc.acceptEncoding)
			// A transport that does not add or undo gzip on its own.
			resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			var body io.Reader = resp.Body
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
				t.Fatalf("gzip = %v, want %v", got, tc.gzipped)
			}
			if tc.gzipped {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			families, err := parser.TextToMetricFamilies(body)
			if err != nil {
				t.Fatalf("exposition does not parse: %v", err)
			}
			for _, name := range []string{ComponentInfo, ComponentLabels, "kubetopo_test_gauge"} { // a family without series does not parse into one
				if _, ok := families[name]; !ok {
					t.Errorf("family %s missing", name)
				}
			}
			if n := len(families[ComponentInfo].GetMetric()); n != 1 {
				t.Errorf("%d component series, want 1", n)
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "deflate, gzip": true, "gzip;q=0": false, "gzip; q=0.5": true, "br": false, "x-gzip": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// familyText is a FamilyWriter of fixed text.
type familyText string

func (f familyText) WriteMetrics(w io.Writer) error {
	_, err := io.WriteString(w, string(f))
	return err
}

// Families written by their owner come after the topology, once, and the
// page parses with them.
func TestHandlerFamilies(t *testing.T) {
	s := NewStore("c", nil)
	s.Update("pod", topology.Result{Components: []topology.Component{{URN: "urn:p", Type: "pod", Name: "p"}}})
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubetopo_test_gauge", Help: "A gauge."}))
	fam := familyText("# HELP kubetopo_test_total A family of its own.\n# TYPE kubetopo_test_total counter\nkubetopo_test_total{x=\"1\"} 2\n")
	rec := httptest.NewRecorder()
	NewHandler(s, reg, log.NewNopLogger()).WithFamilies(fam).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	if n := strings.Count(body, "# TYPE kubetopo_test_total "); n != 1 {
		t.Errorf("family header %d times", n)
	}
	if strings.Index(body, "kubetopo_test_total{") < strings.Index(body, ComponentInfo+"{") {
		t.Errorf("family before the topology:\n%s", body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	for _, name := range []string{ComponentInfo, "kubetopo_test_total", "kubetopo_test_gauge"} {
		if _, ok := families[name]; !ok {
			t.Errorf("family %s missing", name)
		}
	}
}

// discardResponse is a ResponseWriter that keeps nothing, so that a
// benchmark counts the handler's allocations only.
type discardResponse struct{ h http.Header }

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardResponse) WriteHeader(int)             {}

// BenchmarkHandlerServeHTTP: one scrape of 1,000 components and a small
// registry, plain and gzip; -benchmem shows what a scrape allocates.
func BenchmarkHandlerServeHTTP(b *testing.B) {
	s := NewStore("c", nil)
	comps := make([]topology.Component, 1000)
	for i := range comps {
		name := "p" + strconv.Itoa(i)
		comps[i] = topology.Component{URN: "urn:kubernetes:/c:ns:pod/" + name, Type: "pod", Name: name, Labels: map[string]string{"app": "x"}}
	}
	s.Update("pods", topology.Result{Components: comps})
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubetopo_test_gauge", Help: "A gauge."}))
	h := NewHandler(s, reg, log.NewNopLogger())
	for _, enc := range []string{"", "gzip"} {
		b.Run("encoding="+enc, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept-Encoding", enc)
			w := &discardResponse{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}
