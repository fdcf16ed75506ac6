package republish

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/fixtures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func families(t testing.TB, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, head(b))
	}
	return fams
}

func head(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

func pageText(t testing.TB, pages ...*Page) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := WritePages(&buf, pages, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// labelsOf returns a series' labels as name=value strings, sorted.
func labelsOf(m *dto.Metric, drop ...string) string {
	var out []string
outer:
	for _, l := range m.Label {
		for _, d := range drop {
			if l.GetName() == d {
				continue outer
			}
		}
		out = append(out, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func lintProblems(t testing.TB, b []byte) map[string]bool {
	t.Helper()
	ps, err := promlint.New(bytes.NewReader(b)).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	m := map[string]bool{}
	for _, p := range ps {
		m[p.Metric+": "+p.Text] = true
	}
	return m
}

// TestRenderKeepsEverything republishes real expositions and checks, family
// by family and series by series, that only cluster and urn were added.
func TestRenderKeepsEverything(t *testing.T) {
	for _, name := range []string{"kube-state-metrics-v2.20.0.prom", "kube-state-metrics-v2.20.0-labels.prom", "cadvisor-v0.52.1.prom"} {
		t.Run(name, func(t *testing.T) {
			in := fixture(t, name)
			resolve := func(family string, l labels.Labels) string { return "urn:test:" + family }
			page, err := Render(in, "text/plain; version=0.0.4", RenderOptions{Cluster: "c1", Resolve: resolve})
			if err != nil {
				t.Fatal(err)
			}
			out := pageText(t, page)
			want, got := families(t, in), families(t, out)
			if len(got) != len(want) {
				t.Errorf("%d families, want %d", len(got), len(want))
			}
			total := 0
			for name, w := range want {
				g := got[name]
				if g == nil {
					t.Errorf("family %s missing", name)
					continue
				}
				if g.GetType() != w.GetType() || g.GetHelp() != w.GetHelp() {
					t.Errorf("%s: type %v help %q, want %v %q", name, g.GetType(), g.GetHelp(), w.GetType(), w.GetHelp())
				}
				if len(g.Metric) != len(w.Metric) {
					t.Errorf("%s: %d series, want %d", name, len(g.Metric), len(w.Metric))
					continue
				}
				wantSet := map[string]bool{}
				for _, m := range w.Metric {
					wantSet[labelsOf(m)] = true
				}
				for _, m := range g.Metric {
					total++
					if !wantSet[labelsOf(m, "cluster", "urn")] {
						t.Errorf("%s: series {%s} is not an original one", name, labelsOf(m))
					}
					var cluster, urn string
					for _, l := range m.Label {
						switch l.GetName() {
						case "cluster":
							cluster = l.GetValue()
						case "urn":
							urn = l.GetValue()
						}
					}
					if cluster != "c1" || urn != "urn:test:"+name {
						t.Errorf("%s: cluster=%q urn=%q", name, cluster, urn)
					}
				}
			}
			lines := 0
			for _, l := range strings.Split(string(out), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					lines++
				}
			}
			if lines != page.Series || total == 0 {
				t.Errorf("page says %d series, exposition has %d sample lines (%d metrics)", page.Series, lines, total)
			}
			// Republishing adds no lint problem the source did not have.
			before := lintProblems(t, in)
			for p := range lintProblems(t, out) {
				if !before[p] {
					t.Errorf("new lint problem: %s", p)
				}
			}
		})
	}
}

// TestRenderFormats serves the same client_golang registry as text,
// OpenMetrics and protobuf and checks that all three republish alike.
func TestRenderFormats(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "demo_requests_total", Help: "Requests."}, []string{"code"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "demo_temperature_celsius", Help: "A gauge\\with \"escapes\"\nand a newline."})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "demo_latency_seconds", Help: "Latency.", Buckets: []float64{0.1, 1}})
	s := prometheus.NewSummary(prometheus.SummaryOpts{Name: "demo_size_bytes", Help: "Size.", Objectives: map[float64]float64{0.5: 0.05}})
	reg.MustRegister(c, g, h, s)
	c.WithLabelValues("200").Add(3)
	c.WithLabelValues("500").Inc()
	g.Set(-12.5)
	h.Observe(0.5)
	s.Observe(42)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	defer srv.Close()

	accepts := map[string]string{
		"text":        "text/plain;version=0.0.4",
		"openmetrics": "application/openmetrics-text;version=1.0.0",
		"protobuf":    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
	}
	outs := map[string]string{}
	for format, accept := range accepts {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if !strings.Contains(resp.Header.Get("Content-Type"), strings.Split(accept, ";")[0]) {
			t.Fatalf("%s: served %s", format, resp.Header.Get("Content-Type"))
		}
		page, err := Render(body.Bytes(), resp.Header.Get("Content-Type"), RenderOptions{Cluster: "c"})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		fams := families(t, pageText(t, page))
		var lines []string
		for name, f := range fams {
			for _, m := range f.Metric {
				lines = append(lines, name+" "+f.GetType().String()+" "+f.GetHelp()+" {"+labelsOf(m)+"} "+m.String())
			}
		}
		sort.Strings(lines)
		outs[format] = strings.Join(lines, "\n")
	}
	if outs["text"] == "" || !strings.Contains(outs["text"], "cluster=c") {
		t.Fatalf("text rendering empty or without cluster:\n%s", outs["text"])
	}
	for _, f := range []string{"openmetrics", "protobuf"} {
		if outs[f] != outs["text"] {
			t.Errorf("%s republishes differently from text:\n%s\n--- text:\n%s", f, outs[f], outs["text"])
		}
	}
}

func TestRenderLabelConflicts(t *testing.T) {
	// Small hand-made inputs: these test the renaming rule, not an exporter.
	tests := []struct {
		name, in string
		extra    []labels.Label
		want     string
	}{
		{
			name: "cluster and urn kept as exported_*",
			in:   "# TYPE m gauge\nm{cluster=\"orig\",urn=\"u0\",a=\"b\"} 1\n",
			want: `m{cluster="c",urn="urn:1",a="b",exported_cluster="orig",exported_urn="u0"} 1`,
		},
		{
			name: "exported_cluster taken too",
			in:   "# TYPE m gauge\nm{cluster=\"orig\",exported_cluster=\"x\"} 1\n",
			want: `m{cluster="c",urn="urn:1",exported_exported_cluster="orig",exported_cluster="x"} 1`,
		},
		{
			name:  "extra labels conflict like cluster",
			in:    "# TYPE m gauge\nm{metrics_path=\"/x\"} 1 1700000000000\n",
			extra: []labels.Label{{Name: "metrics_path", Value: "/metrics/probes"}},
			want:  `m{cluster="c",urn="urn:1",metrics_path="/metrics/probes",exported_metrics_path="/x"} 1 1700000000000`,
		},
		{
			name: "escapes survive",
			in:   "# TYPE m gauge\nm{a=\"q\\\"b\\\\s\\nn\"} NaN\n",
			want: `m{cluster="c",urn="urn:1",a="q\"b\\s\nn"} NaN`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := Render([]byte(tc.in), "text/plain", RenderOptions{
				Cluster: "c", Labels: tc.extra,
				Resolve: func(string, labels.Labels) string { return "urn:1" },
			})
			if err != nil {
				t.Fatal(err)
			}
			out := string(pageText(t, page))
			if !strings.Contains(out, tc.want+"\n") {
				t.Errorf("got\n%s\nwant a line\n%s", out, tc.want)
			}
			families(t, []byte(out))
		})
	}
}

func TestRenderNoURN(t *testing.T) {
	page, err := Render([]byte("# HELP up x\n# TYPE up gauge\nup 1\n"), "", RenderOptions{
		Cluster: "c", Resolve: func(string, labels.Labels) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(pageText(t, page)); got != "# HELP up x\n# TYPE up gauge\nup{cluster=\"c\"} 1\n" {
		t.Errorf("got %q", got)
	}
}

func TestWritePagesMerges(t *testing.T) {
	in := fixture(t, "cadvisor-v0.52.1.prom")
	var pages []*Page
	for _, path := range []string{"/metrics/cadvisor", "/metrics/other"} {
		p, err := Render(in, "text/plain", RenderOptions{Cluster: "c", Labels: []labels.Label{{Name: "metrics_path", Value: path}}})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	// A third page declares a family of the same name with another type.
	conflict, err := Render([]byte("# TYPE machine_cpu_cores counter\nmachine_cpu_cores{x=\"1\"} 2\n"), "text/plain", RenderOptions{Cluster: "c"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	skipped, err := WritePages(&buf, append(pages, conflict), nil)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 1 {
		t.Errorf("skipped %d blocks, want 1", skipped)
	}
	fams := families(t, buf.Bytes())
	single := families(t, in)
	for name, f := range single {
		if got := len(fams[name].GetMetric()); got != 2*len(f.Metric) {
			t.Errorf("%s: %d series, want %d", name, got, 2*len(f.Metric))
		}
	}
	if n := strings.Count(buf.String(), "# TYPE machine_cpu_cores "); n != 1 {
		t.Errorf("machine_cpu_cores has %d TYPE lines", n)
	}
}
