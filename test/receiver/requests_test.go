//go:build integration

package receiver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/remotewrite/rwtest"
)

type write struct {
	body             []byte
	ctype, enc, vers string
	auth             func(*http.Request)
}

func (w write) send(t testing.TB, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/write", bytes.NewReader(w.body))
	if err != nil {
		t.Fatal(err)
	}
	if w.ctype != "" {
		req.Header.Set("Content-Type", w.ctype)
	}
	if w.enc != "" {
		req.Header.Set("Content-Encoding", w.enc)
	}
	if w.vers != "" {
		req.Header.Set("X-Prometheus-Remote-Write-Version", w.vers)
	}
	if w.auth != nil {
		w.auth(req)
	} else {
		req.SetBasicAuth("apikey", apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const (
	ctV1 = "application/x-protobuf"
	ctV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

// TestBadRequests sends the real binary every kind of bad write; each gets
// its status and the real downstream Prometheus stores nothing. A good write
// afterwards shows up, so the emptiness check can fail.
func TestBadRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	down := startProm(t, ctx, testbed.Prometheus2, "global: {}\n", downstreamFlags(testbed.Prometheus2)...)
	rcv := startReceiver(t, ctx, "--forward.url="+down.URL+"/api/v1/write", "--write.max-body-bytes=256KiB", "--write.max-decoded-bytes=1MiB")
	now := time.Now().UnixMilli()
	good := rwtest.V1(rwtest.Options{Series: 50, TimestampMs: now})
	raw, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	body := snappy.Encode(nil, raw)
	cases := []struct {
		name string
		w    write
		code int
	}{
		{"wrong content type", write{body: body, ctype: "application/json", enc: "snappy"}, 415},
		{"unknown proto message", write{body: body, ctype: "application/x-protobuf;proto=foo.Bar", enc: "snappy"}, 415},
		{"wrong encoding", write{body: body, ctype: ctV1, enc: "zstd"}, 415},
		{"bad snappy", write{body: raw, ctype: ctV1, enc: "snappy"}, 400},
		{"truncated protobuf", write{body: snappy.Encode(nil, raw[:len(raw)/2]), ctype: ctV1, enc: "snappy"}, 400},
		{"garbage protobuf", write{body: snappy.Encode(nil, bytes.Repeat([]byte{0xff}, 100)), ctype: ctV1, enc: "snappy"}, 400},
		{"oversized body", write{body: bytes.Repeat([]byte{1}, 300<<10), ctype: ctV1, enc: "snappy"}, 413},
		{"oversized decoded length", write{body: snappy.Encode(nil, make([]byte, 2<<20)), ctype: ctV1, enc: "snappy"}, 413},
		{"wrong version header", write{body: body, ctype: ctV2, enc: "snappy", vers: "0.1.0"}, 400},
		{"no auth", write{body: body, ctype: ctV1, enc: "snappy", auth: func(*http.Request) {}}, 401},
		{"bad auth", write{body: body, ctype: ctV1, enc: "snappy", auth: func(r *http.Request) { r.SetBasicAuth("apikey", "wrong") }}, 401},
		{"bad api key header", write{body: body, ctype: ctV1, enc: "snappy", auth: func(r *http.Request) { r.Header.Set("X-API-Key", "wrong") }}, 401},
		{"GET", write{body: nil, ctype: ctV1, enc: "snappy"}, 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var code int
			var msg string
			if c.name == "GET" {
				resp, err := http.Get(rcv.URL + "/api/v1/write")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				code = resp.StatusCode
			} else {
				code, msg = c.w.send(t, rcv.URL)
			}
			if code != c.code {
				t.Fatalf("status %d (%s), want %d", code, msg, c.code)
			}
		})
	}
	stored, err := queryRange(ctx, down.URL, `{__name__=~".+"}[1h]`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 0 {
		t.Fatalf("the downstream stored %d series from bad requests", len(stored))
	}
	if code, msg := (write{body: body, ctype: ctV1, enc: "snappy"}).send(t, rcv.URL); code != 204 {
		t.Fatalf("good write: %d %s", code, msg)
	}
	stored, err = queryRange(ctx, down.URL, `{__name__=~".+"}[1h]`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 50 || stored.samples() != 50 {
		t.Fatalf("the good write stored %d series, %d samples, want 50 and 50", len(stored), stored.samples())
	}
}

// TestGracefulShutdown: writes in flight when SIGTERM arrives finish and are
// acknowledged only after the downstream has them; the receiver then exits 0.
func TestGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var received atomic.Int64
	entered := make(chan struct{}, 16)
	release := make(chan struct{})
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		entered <- struct{}{}
		<-release
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer down.Close()
	rcv := startReceiver(t, ctx, "--forward.url="+down.URL+"/api/v1/write")
	body := rwtest.Snappy(rwtest.V1(rwtest.Options{Series: 100}))
	const n = 5
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = (write{body: body, ctype: ctV1, enc: "snappy"}).send(t, rcv.URL)
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case <-entered:
		case <-ctx.Done():
			t.Fatal("writes did not reach the downstream")
		}
	}
	if err := rcv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once the listener is closed; in-flight
	// writes keep going.
	waitFor(t, ctx, "the listener to close", func() (bool, string) {
		resp, err := http.Get(rcv.URL + "/-/healthy")
		if err != nil {
			return true, ""
		}
		resp.Body.Close()
		return false, resp.Status
	})
	close(release)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusNoContent {
			t.Fatalf("write %d: status %d, want 204", i, c)
		}
	}
	if got := received.Load(); got != n {
		t.Fatalf("downstream acknowledged %d writes, want %d", got, n)
	}
	select {
	case <-rcv.done:
	case <-ctx.Done():
		t.Fatal("receiver did not exit")
	}
	if rcv.err != nil {
		t.Fatalf("receiver exit: %v\n%s", rcv.err, rcv.logTail())
	}
}
