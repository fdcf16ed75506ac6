package republish

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
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

// Blocks rendered into a reused buffer are each family's text, header and
// body split, whatever the buffer held before.
func TestAppendGatheredBlocksReuse(t *testing.T) {
	big := prometheus.NewRegistry() // fixed values: gathered twice below
	for i := 0; i < 40; i++ {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kubetopo_test_" + strconv.Itoa(i), Help: "A gauge."}, []string{"y"})
		big.MustRegister(v)
		for j := 0; j < 30; j++ {
			v.WithLabelValues(strconv.Itoa(j)).Set(float64(i*j) / 7)
		}
	}
	small := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubetopo_test_total", Help: "A counter\nwith a newline."}, []string{"x"})
	small.MustRegister(c)
	c.WithLabelValues(`a"b`).Add(2)
	c.WithLabelValues("c").Inc()
	var buf []byte
	var blocks []Block
	for _, g := range []*prometheus.Registry{big, small, big} {
		var err error
		buf, blocks, err = AppendGatheredBlocks(buf, blocks, g)
		if err != nil {
			t.Fatal(err)
		}
		mfs, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if len(blocks) != len(mfs) {
			t.Fatalf("%d blocks for %d families", len(blocks), len(mfs))
		}
		for i, mf := range mfs {
			var want bytes.Buffer
			if _, err := expfmt.MetricFamilyToText(&want, mf); err != nil {
				t.Fatal(err)
			}
			b := blocks[i]
			if got := string(b.Header) + string(b.Body); got != want.String() || b.Name != mf.GetName() || b.Series != len(mf.Metric) {
				t.Fatalf("block %s:\n%s\nwant\n%s", b.Name, got, want.String())
			}
			if !bytes.HasPrefix(b.Header, []byte("# HELP ")) || bytes.HasPrefix(b.Body, []byte("#")) {
				t.Errorf("block %s split wrong: header %q", b.Name, b.Header)
			}
		}
	}
}

// BenchmarkGatheredBlocks: one scrape's gathering of a registry with the Go
// collector and 200 series, rendered fresh and into a reused buffer.
func BenchmarkGatheredBlocks(b *testing.B) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubetopo_test_total", Help: "A counter."}, []string{"x"})
	reg.MustRegister(c)
	for i := 0; i < 200; i++ {
		c.WithLabelValues(strconv.Itoa(i)).Inc()
	}
	b.Run("buffer=fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := GatheredBlocks(reg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("buffer=reused", func(b *testing.B) {
		var buf []byte
		var blocks []Block
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, blocks, err = AppendGatheredBlocks(buf, blocks, reg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
