package standin

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/fixtures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseText(t *testing.T, b []byte) map[string]int {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("rewritten exposition does not parse: %v", err)
	}
	n := map[string]int{}
	for name, f := range fams {
		n[name] = len(f.Metric)
	}
	return n
}

func TestRewrite(t *testing.T) {
	ksm := readFixture(t, "kube-state-metrics-v2.20.0.prom")
	orig := parseText(t, ksm)
	tests := []struct {
		name  string
		rw    Rewriter
		check func(t *testing.T, out []byte)
	}{
		{
			name: "identity keeps every family and series",
			rw:   Rewriter{},
			check: func(t *testing.T, out []byte) {
				got := parseText(t, out)
				if len(got) != len(orig) {
					t.Fatalf("%d families, want %d", len(got), len(orig))
				}
				for f, n := range orig {
					if got[f] != n {
						t.Errorf("%s: %d series, want %d", f, got[f], n)
					}
				}
			},
		},
		{
			name: "values map whatever the label, per-label maps win",
			rw: Rewriter{
				Values: map[string]string{"kwok-node-0": "node-a", "boutique": "shop"},
				Labels: map[string]map[string]string{"namespace": {"boutique": "store"}},
			},
			check: func(t *testing.T, out []byte) {
				s := string(out)
				if strings.Contains(s, `"kwok-node-0"`) || !strings.Contains(s, `node="node-a"`) {
					t.Error("node value not rewritten")
				}
				if strings.Contains(s, `namespace="boutique"`) || !strings.Contains(s, `namespace="store"`) {
					t.Error("namespace value not rewritten by the per-label map")
				}
				if !strings.Contains(s, `kube_namespace_created{namespace="store"}`) {
					t.Error("namespace series missing")
				}
			},
		},
		{
			name: "required labels drop unmapped objects",
			rw: Rewriter{
				Labels:   map[string]map[string]string{"namespace": {"platform": "platform"}},
				Required: []string{"namespace"},
			},
			check: func(t *testing.T, out []byte) {
				s := string(out)
				if strings.Contains(s, `namespace="boutique"`) {
					t.Error("series of an unmapped namespace kept")
				}
				if !strings.Contains(s, `namespace="platform"`) || !strings.Contains(s, "kube_node_info{") {
					t.Error("mapped or namespace-less series dropped")
				}
			},
		},
		{
			name: "drop func",
			rw:   Rewriter{Drop: func(l labels.Labels) bool { return l.Get(labels.MetricName) == "kube_pod_info" }},
			check: func(t *testing.T, out []byte) {
				if got := parseText(t, out)["kube_pod_info"]; got != 0 {
					t.Errorf("%d kube_pod_info series kept", got)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.rw.Rewrite(ksm)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
		})
	}
}

func TestReplicate(t *testing.T) {
	ksm := readFixture(t, "kube-state-metrics-v2.20.0.prom")
	var copies []Rewriter
	for _, n := range []string{"a", "b", "c"} {
		copies = append(copies, Rewriter{Labels: map[string]map[string]string{"namespace": {"boutique": "boutique-" + n}}})
	}
	out, err := Rewriter{}.Replicate(ksm, copies)
	if err != nil {
		t.Fatal(err)
	}
	orig, got := parseText(t, ksm), parseText(t, out)
	// Series of the boutique namespace triple; the rest (written alike by
	// every copy) stay single.
	if got["kube_namespace_created"] != orig["kube_namespace_created"]+2 {
		t.Errorf("kube_namespace_created: %d series, want %d", got["kube_namespace_created"], orig["kube_namespace_created"]+2)
	}
	if got["kube_node_info"] != orig["kube_node_info"] {
		t.Errorf("kube_node_info: %d series, want %d (no duplicates)", got["kube_node_info"], orig["kube_node_info"])
	}
}

func TestRewriteShiftsTimestamps(t *testing.T) {
	in := []byte("# TYPE a gauge\na{x=\"1\"} 1 1000\na{x=\"2\"} 2 3000\na{x=\"3\"} 3\n")
	out, err := Rewriter{TimestampsAt: time.UnixMilli(10000)}.Rewrite(in)
	if err != nil {
		t.Fatal(err)
	}
	want := "# TYPE a gauge\na{x=\"1\"} 1 8000\na{x=\"2\"} 2 10000\na{x=\"3\"} 3\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestRewriteRejectsBadInput(t *testing.T) {
	if _, err := (Rewriter{}).Rewrite([]byte("metric{a=\"b\" 1\n")); err == nil {
		t.Fatal("no error for a malformed exposition")
	}
}

func TestServer(t *testing.T) {
	page := []byte("# TYPE up gauge\nup 1\n")
	srv, err := Start(Options{Pages: map[string][]byte{"/metrics": page}, TLS: true, BearerToken: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool}}}
	tests := []struct {
		name   string
		client *http.Client
		path   string
		token  string
		status int
	}{
		{"right token", trusting, "/metrics", "s3cret", 200},
		{"no token", trusting, "/metrics", "", 401},
		{"wrong token", trusting, "/metrics", "nope", 403},
		{"unknown path", trusting, "/metrics/cadvisor", "s3cret", 404},
		{"untrusted certificate", http.DefaultClient, "/metrics", "s3cret", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := tc.client.Do(req)
			if tc.status < 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatal("a client that does not trust the self-signed certificate connected")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 200 && !bytes.Equal(body, page) {
				t.Errorf("body %q", body)
			}
		})
	}
	if srv.Requests() != 1 || srv.Denied() != 2 {
		t.Errorf("requests %d denied %d, want 1 and 2", srv.Requests(), srv.Denied())
	}
}
