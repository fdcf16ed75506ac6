package republish

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
)

// syncBuffer collects log lines from concurrent scrapes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(body))
	}
}

// TestScrapeFailures: every kind of bad source fails alone — a failed-scrape
// metric, a log line, no page — while a good source scraped alongside it in
// the same round republishes normally.
func TestScrapeFailures(t *testing.T) {
	cadvisor := fixture(t, "cadvisor-v0.52.1.prom")
	good := serve(t, text(string(cadvisor)))

	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/metrics"
	}()
	tlsSrv := httptest.NewTLSServer(text("up 1\n"))
	defer tlsSrv.Close()

	tests := []struct {
		name     string
		url      string
		client   *http.Client
		maxBytes int64
		token    func() (string, error)
		reason   string
	}{
		{name: "truncated mid-line", url: serve(t, text(string(cadvisor[:len(cadvisor)/2])+"\n")), reason: "parse"},
		{name: "truncated body (Content-Length larger than sent)", url: serve(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Header().Set("Content-Length", strconv.Itoa(len(cadvisor)))
			_, _ = w.Write(cadvisor[:len(cadvisor)/3])
		}), reason: "read"},
		{name: "duplicate series", url: serve(t, text("# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 1\na{x=\"1\"} 2\n")), reason: "duplicate"},
		{name: "invalid metric name", url: serve(t, text("# TYPE a-b gauge\na-b 1\n")), reason: "parse"},
		{name: "label name the text format cannot carry", url: serve(t, text("{\"my.metric\",\"label.name\"=\"x\"} 1\n")), reason: "invalid_name"},
		{name: "huge exposition", url: good, maxBytes: 1024, reason: "too_large"},
		{name: "huge Content-Length", url: serve(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(1<<20))
			_, _ = w.Write(make([]byte, 1<<20))
		}), maxBytes: 1 << 10, reason: "too_large"},
		{name: "TLS certificate not trusted", url: tlsSrv.URL, client: &http.Client{}, reason: "connect"},
		{name: "connection refused", url: refused, reason: "connect"},
		{name: "HTTP 500", url: serve(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }), reason: "http_status"},
		{name: "HTTP 401", url: serve(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", 401) }), reason: "http_status"},
		{name: "token file unreadable", url: good, token: func() (string, error) { return "", errors.New("open /var/run/token: no such file") }, reason: "token"},
		{name: "unknown Content-Type with binary body", url: serve(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
			_, _ = w.Write([]byte{0xff, 0xff, 0xff, 0x01, 0x02})
		}), reason: "parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			reg := prometheus.NewRegistry()
			r, err := New(Options{Logger: log.NewLogfmtLogger(&logs), Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			goodSrc := Source{Name: "good", URL: good, Render: RenderOptions{Cluster: "c"}}
			bad := Source{Name: "bad", URL: tc.url, Client: tc.client, MaxBytes: tc.maxBytes, Token: tc.token, Render: RenderOptions{Cluster: "c"}}
			// First round: the bad source still serves good data, so the
			// test also proves a failure drops a previous page.
			bad0 := bad
			bad0.URL, bad0.Client, bad0.MaxBytes, bad0.Token = good, nil, 0, nil
			r.ScrapeAll(context.Background(), []Source{goodSrc, bad0})
			if len(r.Pages()) != 2 {
				t.Fatalf("first round: %d pages", len(r.Pages()))
			}
			r.ScrapeAll(context.Background(), []Source{goodSrc, bad})

			err = r.Scrape(context.Background(), bad)
			var se *ScrapeError
			if !errors.As(err, &se) || se.Reason != tc.reason {
				t.Fatalf("error %v, want reason %q", err, tc.reason)
			}
			pages := r.Pages()
			if pages["bad"] != nil {
				t.Error("the failed source still has a page")
			}
			if pages["good"] == nil || pages["good"].Series == 0 {
				t.Error("the good source lost its page")
			}
			for src, want := range map[string]float64{"bad": 0, "good": 1} {
				if got, ok := metricValue(t, reg, "kubetopo_scrape_source_success", "source="+src); !ok || got != want {
					t.Errorf("kubetopo_scrape_source_success{source=%q} = %v (present %v), want %v", src, got, ok, want)
				}
			}
			if got, _ := metricValue(t, reg, "kubetopo_scrape_source_failures_total", "reason="+tc.reason+",source=bad"); got != 2 {
				t.Errorf("failures_total{reason=%q} = %v, want 2", tc.reason, got)
			}
			if !strings.Contains(logs.String(), "source=bad") || !strings.Contains(logs.String(), "scrape failed") {
				t.Errorf("no log line for the failure:\n%s", logs.String())
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "scrape failed") && strings.Contains(line, "source=good") {
					t.Errorf("the good source logged a failure: %s", line)
				}
			}
			// The page still renders and lints.
			var out bytes.Buffer
			h := NewHandler(r, reg, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			out.Write(rec.Body.Bytes())
			families(t, out.Bytes())
		})
	}
}

// metricValue returns the value of the series of family name whose sorted
// labels read labels ("a=1,b=2").
func metricValue(t *testing.T, g prometheus.Gatherer, name, labels string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if labelsOf(m) == labels {
				switch {
				case m.Counter != nil:
					return m.GetCounter().GetValue(), true
				case m.Gauge != nil:
					return m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

func TestScrapeSendsTokenAndAccept(t *testing.T) {
	var gotAuth, gotAccept string
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAccept = r.Header.Get("Authorization"), r.Header.Get("Accept")
		text("up 1\n")(w, r)
	})
	n := 0
	tok := func() (string, error) { n++; return "tok-" + strconv.Itoa(n), nil }
	r, _ := New(Options{})
	src := Source{Name: "s", URL: url, Token: tok, Render: RenderOptions{Cluster: "c"}}
	for i := 1; i <= 2; i++ {
		if err := r.Scrape(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		if gotAuth != "Bearer tok-"+strconv.Itoa(i) {
			t.Errorf("scrape %d: Authorization %q (the token is re-read on every scrape)", i, gotAuth)
		}
	}
	if gotAccept != DefaultAccept {
		t.Errorf("Accept %q", gotAccept)
	}
}

func TestTLSWithTrustedCA(t *testing.T) {
	srv := httptest.NewTLSServer(text("up 1\n"))
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	page, err := Fetch(context.Background(), Source{URL: srv.URL, Client: client, Render: RenderOptions{Cluster: "c", Labels: []labels.Label{{Name: "metrics_path", Value: "/metrics"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(pageText(t, page)); got != "up{cluster=\"c\",metrics_path=\"/metrics\"} 1\n" {
		t.Errorf("got %q", got)
	}
}

func TestRemovedSourcesDisappear(t *testing.T) {
	url := serve(t, text("up 1\n"))
	reg := prometheus.NewRegistry()
	r, _ := New(Options{Registerer: reg})
	a := Source{Name: "a", URL: url, Render: RenderOptions{Cluster: "c"}}
	b := Source{Name: "b", URL: url, Render: RenderOptions{Cluster: "c", Labels: []labels.Label{{Name: "x", Value: "b"}}}}
	r.ScrapeAll(context.Background(), []Source{a, b})
	r.ScrapeAll(context.Background(), []Source{a})
	if _, ok := r.Pages()["b"]; ok {
		t.Error("source b still has a page")
	}
	if _, ok := metricValue(t, reg, "kubetopo_scrape_source_success", "source=b"); ok {
		t.Error("source b still has scrape metrics")
	}
	if _, ok := metricValue(t, reg, "kubetopo_scrape_source_success", "source=a"); !ok {
		t.Error("source a has no scrape metrics")
	}
}

// TestScrapeBodyHint: a source whose responses announce no size (chunked, or
// compressed in transit) is read, from its second scrape on, into a buffer of
// about its last size; the hint changes nothing of what is rendered.
func TestScrapeBodyHint(t *testing.T) {
	var b strings.Builder
	b.WriteString("# TYPE big gauge\n")
	for i := 0; i < 20000; i++ {
		b.WriteString(`big{i="` + strconv.Itoa(i) + `"} 1` + "\n")
	}
	body := b.String()
	url := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		for i := 0; i < len(body); i += 4096 { // flushed pieces: chunked, no Content-Length
			_, _ = w.Write([]byte(body[i:min(i+4096, len(body))]))
			w.(http.Flusher).Flush()
		}
	})
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Name: "big", URL: url, Render: RenderOptions{Cluster: "c"}}
	if err := r.Scrape(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	first := r.Pages()["big"]
	if got := r.sources["big"].bodyBytes; got != len(body) {
		t.Fatalf("recorded body size %d, want %d", got, len(body))
	}
	src.bodyHint, src.pageHint = r.sources["big"].bodyBytes, first.Bytes
	second, err := Fetch(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if first.Bytes != second.Bytes || first.Series != second.Series || first.Series != 20000 {
		t.Errorf("pages differ: %d bytes %d series, then %d bytes %d series", first.Bytes, first.Series, second.Bytes, second.Series)
	}
	for i := range first.Blocks {
		if !bytes.Equal(first.Blocks[i].Body, second.Blocks[i].Body) || !bytes.Equal(first.Blocks[i].Header, second.Blocks[i].Header) {
			t.Errorf("block %d differs with the size hints", i)
		}
	}

	// Read with the hint, the body takes one buffer of about its size (and
	// the LimitReader); without, it doubles up from 256 KiB.
	hinted := testing.AllocsPerRun(1, func() { _, _ = readLimited(strings.NewReader(body), 64<<20, src.bodyHint+src.bodyHint/8+512) })
	cold := testing.AllocsPerRun(1, func() { _, _ = readLimited(strings.NewReader(body), 64<<20, 256<<10) })
	if hinted != 2 || cold <= hinted {
		t.Errorf("allocations reading the body: %v with the hint, %v without; want 2 and more", hinted, cold)
	}
}
