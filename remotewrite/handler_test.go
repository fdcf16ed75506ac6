package remotewrite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/prompb"

	"github.com/kubetopo/kubetopo/remotewrite/rwtest"
)

// fakeDownstream records what it receives and answers with code.
type fakeDownstream struct {
	mu     sync.Mutex
	bodies [][]byte
	ctypes []string
	code   atomic.Int32
	srv    *httptest.Server
}

func newFake(t *testing.T) *fakeDownstream {
	f := &fakeDownstream{}
	f.code.Store(http.StatusNoContent)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, b)
		f.ctypes = append(f.ctypes, r.Header.Get("Content-Type"))
		f.mu.Unlock()
		w.WriteHeader(int(f.code.Load()))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDownstream) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.bodies) }

const key = "s3cret-key"

func newTestHandler(t *testing.T, opts Options, downstreams ...*fakeDownstream) *Handler {
	t.Helper()
	for _, f := range downstreams {
		d, err := NewDownstream(f.srv.URL+"/api/v1/write", "1.0", 0)
		if err != nil {
			t.Fatal(err)
		}
		opts.Downstreams = append(opts.Downstreams, d)
	}
	if opts.Keys == nil {
		opts.Keys = NewAPIKeys(key)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	h, err := NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type reqSpec struct {
	body     []byte
	ctype    string
	encoding string
	version  string
	auth     func(*http.Request)
}

func post(h http.Handler, s reqSpec) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(s.body))
	if s.ctype != "-" {
		r.Header.Set("Content-Type", s.ctype)
	}
	if s.encoding != "-" {
		r.Header.Set("Content-Encoding", s.encoding)
	}
	if s.version != "" {
		r.Header.Set(versionHeader, s.version)
	}
	if s.auth != nil {
		s.auth(r)
	} else {
		r.Header.Set("X-API-Key", key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestBadRequests(t *testing.T) {
	good := rwtest.Snappy(rwtest.V1(rwtest.Options{Series: 10}))
	goodV2 := rwtest.Snappy(rwtest.V2(rwtest.Options{Series: 10}))
	raw, _ := rwtest.V1(rwtest.Options{Series: 10}).Marshal()
	big := snappy.Encode(nil, make([]byte, 2<<20)) // decodes to 2 MiB of zeros: small body, large decoded size
	cases := []struct {
		name string
		spec reqSpec
		code int
	}{
		{"wrong content type", reqSpec{body: good, ctype: "application/json", encoding: "snappy"}, 415},
		{"unknown proto message", reqSpec{body: good, ctype: "application/x-protobuf;proto=io.prometheus.write.v3.Request", encoding: "snappy"}, 415},
		{"malformed content type", reqSpec{body: good, ctype: "application/x-protobuf;;proto", encoding: "snappy"}, 415},
		{"wrong encoding", reqSpec{body: good, ctype: contentTypeV1, encoding: "gzip"}, 415},
		{"bad snappy", reqSpec{body: raw, ctype: contentTypeV1, encoding: "snappy"}, 400},
		{"garbage snappy", reqSpec{body: []byte("\xff\xff\xff\xff\xff\xff"), ctype: contentTypeV1, encoding: "snappy"}, 400},
		{"truncated protobuf", reqSpec{body: snappy.Encode(nil, raw[:len(raw)-7]), ctype: contentTypeV1, encoding: "snappy"}, 400},
		{"garbage protobuf", reqSpec{body: snappy.Encode(nil, []byte("this is not a protobuf message at all")), ctype: contentTypeV1, encoding: "snappy"}, 400},
		{"v2 label ref outside the symbols", reqSpec{body: snappy.Encode(nil, []byte{0x22, 0x00, 0x2a, 0x04, 0x0a, 0x02, 0x00, 0x05}), ctype: contentTypeV2, encoding: "snappy", version: "2.0.0"}, 400},
		{"v2 odd label refs", reqSpec{body: snappy.Encode(nil, []byte{0x22, 0x00, 0x2a, 0x03, 0x0a, 0x01, 0x00}), ctype: contentTypeV2, encoding: "snappy", version: "2.0.0"}, 400},
		{"oversized body", reqSpec{body: bytes.Repeat([]byte{0}, 1<<20+1), ctype: contentTypeV1, encoding: "snappy"}, 413},
		{"oversized decoded length", reqSpec{body: big, ctype: contentTypeV1, encoding: "snappy"}, 413},
		{"wrong version header v2", reqSpec{body: goodV2, ctype: contentTypeV2, encoding: "snappy", version: "0.1.0"}, 400},
		{"wrong version header v1", reqSpec{body: good, ctype: contentTypeV1, encoding: "snappy", version: "2.0.0"}, 400},
		{"no auth", reqSpec{body: good, ctype: contentTypeV1, encoding: "snappy", auth: func(*http.Request) {}}, 401},
		{"bad api key", reqSpec{body: good, ctype: contentTypeV1, encoding: "snappy", auth: func(r *http.Request) { r.Header.Set("X-API-Key", "nope") }}, 401},
		{"bad basic user", reqSpec{body: good, ctype: contentTypeV1, encoding: "snappy", auth: func(r *http.Request) { r.SetBasicAuth("admin", key) }}, 401},
		{"bad bearer", reqSpec{body: good, ctype: contentTypeV1, encoding: "snappy", auth: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key+"x") }}, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			h := newTestHandler(t, Options{MaxBodyBytes: 1 << 20, MaxDecodedBytes: 1 << 20}, f)
			w := post(h, c.spec)
			if w.Code != c.code {
				t.Fatalf("status %d (%s), want %d", w.Code, strings.TrimSpace(w.Body.String()), c.code)
			}
			if f.count() != 0 {
				t.Fatalf("downstream received %d writes, want none", f.count())
			}
			if strings.Contains(c.spec.ctype, "v2") && w.Header().Get(writtenSamples) != "0" {
				t.Fatalf("2.0 answer without %s: 0", writtenSamples)
			}
		})
	}
}

func TestGoodRequests(t *testing.T) {
	o := rwtest.Options{Series: 30, Histograms: 4, Exemplars: 5}
	v1, v2 := rwtest.Snappy(rwtest.V1(o)), rwtest.Snappy(rwtest.V2(o))
	auths := map[string]func(*http.Request){
		"x-api-key":   func(r *http.Request) { r.Header.Set("X-API-Key", key) },
		"sts-api-key": func(r *http.Request) { r.Header.Set("sts-api-key", key) },
		"bearer":      func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) },
		"basic":       func(r *http.Request) { r.SetBasicAuth("apikey", key) },
	}
	cases := []struct {
		name       string
		spec       reqSpec
		downstream string // protocol
		passthru   bool
	}{
		{"v1 plain content type, v1 downstream", reqSpec{body: v1, ctype: contentTypeV1, encoding: "snappy", version: "0.1.0"}, "1.0", true},
		{"v1 explicit proto, no encoding header", reqSpec{body: v1, ctype: "application/x-protobuf; proto=prometheus.WriteRequest", encoding: "-"}, "1.0", true},
		{"v1 no content type", reqSpec{body: v1, ctype: "-", encoding: "snappy"}, "1.0", true},
		{"v2 to v2 downstream", reqSpec{body: v2, ctype: contentTypeV2, encoding: "snappy", version: "2.0.0"}, "2.0", true},
		{"v2 to v1 downstream", reqSpec{body: v2, ctype: contentTypeV2, encoding: "snappy", version: "2.0.0"}, "1.0", false},
		{"v1 to v2 downstream", reqSpec{body: v1, ctype: contentTypeV1, encoding: "snappy"}, "2.0", false},
	}
	for _, c := range cases {
		for an, auth := range auths {
			t.Run(c.name+"/"+an, func(t *testing.T) {
				f := newFake(t)
				d, _ := NewDownstream(f.srv.URL, c.downstream, 0)
				h := newTestHandler(t, Options{Downstreams: []Downstream{d}})
				c.spec.auth = auth
				w := post(h, c.spec)
				if w.Code != http.StatusNoContent {
					t.Fatalf("status %d: %s", w.Code, w.Body.String())
				}
				if f.count() != 1 {
					t.Fatalf("downstream got %d writes", f.count())
				}
				if got := bytes.Equal(f.bodies[0], c.spec.body); got != c.passthru {
					t.Fatalf("passthrough %v, want %v", got, c.passthru)
				}
				if strings.Contains(c.spec.ctype, "v2") {
					if w.Header().Get(writtenSamples) != "26" || w.Header().Get(writtenHistograms) != "4" || w.Header().Get(writtenExemplars) != "5" {
						t.Fatalf("written headers %v", w.Header())
					}
				} else if w.Header().Get(writtenSamples) != "" {
					t.Fatal("1.0 answer with 2.0 headers")
				}
				wantCT := contentTypeV1
				if c.downstream == "2.0" {
					wantCT = contentTypeV2
				}
				if f.ctypes[0] != wantCT {
					t.Fatalf("downstream content type %q, want %q", f.ctypes[0], wantCT)
				}
			})
		}
	}
}

// TestDownstreamFailures: the upstream answer follows the worst downstream,
// and only a write all downstreams took is acknowledged.
func TestDownstreamFailures(t *testing.T) {
	body := rwtest.Snappy(rwtest.V1(rwtest.Options{Series: 5}))
	cases := []struct {
		codes []int
		want  int
		retry bool
	}{
		{[]int{204, 200}, 204, false},
		{[]int{204, 500}, 502, true},
		{[]int{204, 503}, 503, true},
		{[]int{429}, 503, true},
		{[]int{400, 204}, 400, false},
		{[]int{400, 500}, 502, true}, // retry until the 5xx one recovers
		{[]int{409}, 409, false},
	}
	for _, c := range cases {
		t.Run(fmtInts(c.codes), func(t *testing.T) {
			var fakes []*fakeDownstream
			for _, code := range c.codes {
				f := newFake(t)
				f.code.Store(int32(code))
				fakes = append(fakes, f)
			}
			h := newTestHandler(t, Options{}, fakes...)
			w := post(h, reqSpec{body: body, ctype: contentTypeV1, encoding: "snappy"})
			if w.Code != c.want {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body.String(), c.want)
			}
			if c.retry && w.Header().Get("Retry-After") == "" {
				t.Fatal("no Retry-After on a retryable answer")
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		f := newFake(t)
		f.srv.Close()
		h := newTestHandler(t, Options{}, f)
		if w := post(h, reqSpec{body: body, ctype: contentTypeV1, encoding: "snappy"}); w.Code != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", w.Code)
		}
	})
}

func fmtInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = itoa(n)
	}
	return strings.Join(s, ",")
}

// TestOverload: beyond MaxInFlight the receiver answers 503 + Retry-After
// without reading the body.
func TestOverload(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		w.WriteHeader(204)
	}))
	defer slow.Close()
	d, _ := NewDownstream(slow.URL, "1.0", 0)
	reg := prometheus.NewRegistry()
	h := newTestHandler(t, Options{MaxInFlight: 1, Downstreams: []Downstream{d}, Registerer: reg})
	body := rwtest.Snappy(rwtest.V1(rwtest.Options{Series: 5}))
	done := make(chan int)
	go func() { done <- post(h, reqSpec{body: body, ctype: contentTypeV1, encoding: "snappy"}).Code }()
	<-entered
	w := post(h, reqSpec{body: body, ctype: contentTypeV1, encoding: "snappy"})
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d Retry-After %q, want 503 and 1", w.Code, w.Header().Get("Retry-After"))
	}
	close(release)
	if code := <-done; code != 204 {
		t.Fatalf("first request: %d", code)
	}
	if n := testutil.ToFloat64(h.m.rejected.WithLabelValues("overloaded")); n != 1 {
		t.Fatalf("overloaded count %v", n)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP kubetopo_receiver_received_total Samples, histogram samples, exemplars and metadata entries in well-formed, authenticated requests, by type.
# TYPE kubetopo_receiver_received_total counter
kubetopo_receiver_received_total{protocol="1.0",type="exemplars"} 0
kubetopo_receiver_received_total{protocol="1.0",type="histograms"} 0
kubetopo_receiver_received_total{protocol="1.0",type="metadata"} 7
kubetopo_receiver_received_total{protocol="1.0",type="samples"} 5
`), "kubetopo_receiver_received_total"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

// urnProcessor is what issue 6 will plug in: it reads labels and adds urn.
type urnProcessor struct{ err error }

func (p urnProcessor) Process(_ context.Context, req *Request) error {
	for i := range req.Series {
		if pod := req.Series[i].Get("pod"); pod != "" {
			req.SetLabel(i, "urn", "urn:kubernetes:/prod:"+req.Series[i].Get("namespace")+":pod/"+pod)
		}
	}
	return p.err
}

func TestProcessor(t *testing.T) {
	body := rwtest.Snappy(rwtest.V2(rwtest.Options{Series: 20}))
	f := newFake(t)
	d, _ := NewDownstream(f.srv.URL, "1.0", 0)
	h := newTestHandler(t, Options{Processor: urnProcessor{}, Downstreams: []Downstream{d}})
	if w := post(h, reqSpec{body: body, ctype: contentTypeV2, encoding: "snappy"}); w.Code != 204 {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	var got prompb.WriteRequest
	b, _ := snappy.Decode(nil, f.bodies[0])
	if err := got.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	for _, ts := range got.Timeseries {
		var urn, pod, ns string
		for _, l := range ts.Labels {
			switch l.Name {
			case "urn":
				urn = l.Value
			case "pod":
				pod = l.Value
			case "namespace":
				ns = l.Value
			}
		}
		if urn != "urn:kubernetes:/prod:"+ns+":pod/"+pod {
			t.Fatalf("urn %q for pod %s/%s", urn, ns, pod)
		}
	}
	t.Run("error answers 500 and forwards nothing", func(t *testing.T) {
		f := newFake(t)
		h := newTestHandler(t, Options{Processor: urnProcessor{err: errors.New("boom")}}, f)
		if w := post(h, reqSpec{body: body, ctype: contentTypeV2, encoding: "snappy"}); w.Code != 500 {
			t.Fatalf("status %d", w.Code)
		}
		if f.count() != 0 {
			t.Fatal("forwarded after a processor error")
		}
	})
}
