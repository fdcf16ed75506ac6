package push

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
)

// receiver answers with the statuses in order (then 204) and records requests.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	reqs     []*http.Request
	bodies   []prompb.WriteRequest
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(req.Body)
	var wr prompb.WriteRequest
	if b, err := snappy.Decode(nil, raw); err == nil {
		_ = wr.Unmarshal(b)
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.bodies = append(r.bodies, wr)
	status := http.StatusNoContent
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	r.mu.Unlock()
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status))
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

var batch = []prompb.TimeSeries{{
	Labels:  []prompb.Label{{Name: "__name__", Value: "kubetopo_event"}, {Name: "uid", Value: "a"}},
	Samples: []prompb.Sample{{Value: 3, Timestamp: 1700000000000}},
}}

func newClient(t *testing.T, url string, mod func(*Options)) (*Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o := Options{URL: url, APIKey: "s3cret", Stream: "events", MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Registerer: reg}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, reg
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestWriteRequestFormat(t *testing.T) {
	tests := []struct {
		name       string
		mod        func(*Options)
		header     string // header that must carry the key ("" none)
		basic      bool
		noKeyInHdr string // header that must be absent
	}{
		{name: "default header", header: "X-API-Key"},
		{name: "custom header", mod: func(o *Options) { o.APIKeyHeader = "sts-api-key" }, header: "Sts-Api-Key", noKeyInHdr: "X-API-Key"},
		{name: "header and basic auth", mod: func(o *Options) { o.APIKeyBasicAuth = true }, header: "X-API-Key", basic: true},
		{name: "basic auth only", mod: func(o *Options) { o.APIKeyHeader, o.APIKeyBasicAuth = "-", true }, basic: true, noKeyInHdr: "X-API-Key"},
		{name: "no key", mod: func(o *Options) { o.APIKey = "" }, noKeyInHdr: "X-API-Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := &receiver{}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			c, reg := newClient(t, srv.URL+"/api/v1/write", tt.mod)
			if err := c.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			req := rcv.reqs[0]
			for h, want := range map[string]string{
				"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
				"X-Prometheus-Remote-Write-Version": "0.1.0",
			} {
				if got := req.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if req.Method != http.MethodPost || req.URL.Path != "/api/v1/write" {
				t.Errorf("%s %s", req.Method, req.URL.Path)
			}
			if tt.header != "" && req.Header.Get(tt.header) != "s3cret" {
				t.Errorf("header %s = %q", tt.header, req.Header.Get(tt.header))
			}
			if tt.noKeyInHdr != "" && req.Header.Get(tt.noKeyInHdr) != "" {
				t.Errorf("header %s set", tt.noKeyInHdr)
			}
			user, pass, ok := req.BasicAuth()
			if tt.basic != ok || (ok && (user != "apikey" || pass != "s3cret")) {
				t.Errorf("basic auth %v %q %q, want %v", ok, user, pass, tt.basic)
			}
			got := rcv.bodies[0].Timeseries
			if len(got) != 1 || got[0].Labels[1].Value != "a" || got[0].Samples[0].Value != 3 || got[0].Samples[0].Timestamp != 1700000000000 {
				t.Errorf("decoded %+v", got)
			}
			if n := counter(t, reg, "kubetopo_remote_write_samples_sent_total"); n != 1 {
				t.Errorf("sent %v", n)
			}
		})
	}
}

func TestWriteRetries(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		wantErr   bool
		requests  int
		retries   float64
		failed    float64
		permanent bool
	}{
		{name: "503 then ok", statuses: []int{503, 500}, requests: 3, retries: 2},
		{name: "429 then ok", statuses: []int{429}, requests: 2, retries: 1},
		{name: "400 is not retried", statuses: []int{400}, wantErr: true, permanent: true, requests: 1, failed: 1},
		{name: "401 is not retried", statuses: []int{401}, wantErr: true, permanent: true, requests: 1, failed: 1},
		{name: "413 is not retried", statuses: []int{413}, wantErr: true, permanent: true, requests: 1, failed: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := &receiver{statuses: tt.statuses}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			c, reg := newClient(t, srv.URL, nil)
			err := c.Write(context.Background(), batch)
			if (err != nil) != tt.wantErr || IsPermanent(err) != tt.permanent {
				t.Fatalf("err %v, want error %v permanent %v", err, tt.wantErr, tt.permanent)
			}
			if rcv.count() != tt.requests {
				t.Errorf("%d requests, want %d", rcv.count(), tt.requests)
			}
			if got := counter(t, reg, "kubetopo_remote_write_retries_total"); got != tt.retries {
				t.Errorf("retries %v, want %v", got, tt.retries)
			}
			if got := counter(t, reg, "kubetopo_remote_write_samples_failed_total"); got != tt.failed {
				t.Errorf("failed %v, want %v", got, tt.failed)
			}
		})
	}
}

// A receiver that is down is retried until ctx ends; the error says the data
// was not acknowledged (the caller keeps it) and is not permanent.
func TestWriteUnreachableRetriesUntilCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, reg := newClient(t, "http://"+addr+"/api/v1/write", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Write(ctx, batch) }()
	deadline := time.Now().Add(10 * time.Second)
	for counter(t, reg, "kubetopo_remote_write_retries_total") < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no retries within 10s")
		}
		time.Sleep(time.Millisecond) // poll interval
	}
	cancel()
	err = <-done
	if err == nil || IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want a non-permanent context.Canceled", err)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:9090", "ftp://x/y", "http://user:pw@host/api/v1/write", "http:///path"} {
		if _, err := New(Options{URL: u}); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
}

func TestQueue(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	c, reg := newClient(t, srv.URL, nil)
	q, err := NewQueue(c, 2, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(batch); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(batch); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(batch); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third batch into a queue of 2: %v, want ErrQueueFull", err)
	}
	if got := counter(t, reg, "kubetopo_remote_write_samples_dropped_total"); got != 1 {
		t.Errorf("dropped %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = q.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for rcv.count() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("queue not drained within 10s")
		}
		time.Sleep(time.Millisecond) // poll interval
	}
}

// Two clients (two streams) share one registry.
func TestTwoStreamsOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, s := range []string{"events", "topology"} {
		if _, err := New(Options{URL: "http://127.0.0.1:1/api/v1/write", Stream: s, Registerer: reg}); err != nil {
			t.Fatal(err)
		}
	}
}
