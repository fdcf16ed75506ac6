package remotewrite

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/remotewrite/rwtest"
)

// countingConn counts the writes to a connection and the largest one.
type countingConn struct {
	net.Conn
	writes, largest *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	if n := int64(len(p)); n > c.largest.Load() {
		c.largest.Store(n)
	}
	return c.Conn.Write(p)
}

// TestDirectConnWritesBodyWhole: through the real net/http transport, a
// forwarded body reaches the socket in (at most) two writes, the second
// the body's rest in one piece, and arrives intact, also on a kept-alive
// connection.
func TestDirectConnWritesBodyWhole(t *testing.T) {
	body := rwtest.Snappy(rwtest.V1(rwtest.Options{Series: 2000, Seed: 3}))
	var got atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(&b)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	var writes, largest atomic.Int64
	tr := newTransport(4, 4)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return directConn{countingConn{Conn: c.(directConn).Conn, writes: &writes, largest: &largest}}, nil
	}
	client := &http.Client{Transport: tr}
	d, err := NewDownstream(srv.URL+"/write", "1.0", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		writes.Store(0)
		largest.Store(0)
		res := send(context.Background(), client, &d, body, "test")
		if !res.ok() {
			t.Fatalf("send %d: %d %v", i, res.code, res.err)
		}
		if b := got.Load(); b == nil || !bytes.Equal(*b, body) {
			t.Fatalf("send %d: the downstream got a different body", i)
		}
		if n := writes.Load(); n > 2 {
			t.Errorf("send %d: %d writes for a %d-byte body, want at most 2 (headers with the body's start, then its rest)", i, n, len(body))
		}
		if l := largest.Load(); l < int64(len(body))-8192 {
			t.Errorf("send %d: largest write %d bytes, want the body's rest (%d bytes) in one", i, l, len(body))
		}
	}
}

// lateReader is a downstream transport that answers at once and reads the
// request body only when released, as net/http's transport may when a
// server answers before it has read the whole body: RoundTrip returns while
// the body is still in use.
type lateReader struct {
	release chan struct{}
	got     chan []byte
}

func (l *lateReader) RoundTrip(r *http.Request) (*http.Response, error) {
	go func() {
		<-l.release
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		l.got <- b
	}()
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: io.NopCloser(strings.NewReader("busy")), Header: http.Header{}, Request: r}, nil
}

// readFirst reads the whole body before it answers, as a remote-write
// receiver does.
type readFirst struct{}

func (readFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

func TestSendReportsAHeldBody(t *testing.T) {
	d, err := NewDownstream("http://downstream.invalid/api/v1/write", "1.0", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("a compressed body")
	if res := send(context.Background(), &http.Client{Transport: readFirst{}}, &d, body, "test"); !res.ok() || res.bodyHeld {
		t.Errorf("a body read before the answer: ok=%v held=%v, want ok and not held", res.ok(), res.bodyHeld)
	}
	late := &lateReader{release: make(chan struct{}), got: make(chan []byte, 1)}
	res := send(context.Background(), &http.Client{Transport: late}, &d, body, "test")
	if !res.bodyHeld {
		t.Error("a body the transport still reads after the answer is not reported held")
	}
	close(late.release)
	if got := <-late.got; !bytes.Equal(got, []byte("a compressed body")) {
		t.Errorf("the transport read %q", got)
	}
}

// TestForwardNeverReusesAHeldBody: a downstream that answers before it has
// read the body, then a second request through the same handler (which
// reuses the first one's state): the first body, read after that, is still
// the first request's.
func TestForwardNeverReusesAHeldBody(t *testing.T) {
	late := &lateReader{release: make(chan struct{}), got: make(chan []byte, 2)}
	d, err := NewDownstream("http://downstream.invalid/api/v1/write", "1.0", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, Options{Downstreams: []Downstream{d}, Client: &http.Client{Transport: late}})
	// The second body is the smaller, so it fits the first one's buffer.
	first := rwtest.Snappy(rwtest.V1(rwtest.Options{Series: 400, Seed: 1}))
	second := rwtest.Snappy(rwtest.V1(rwtest.Options{Series: 200, Seed: 2}))
	if len(second) >= len(first) {
		t.Fatalf("the second body (%d bytes) must be smaller than the first (%d)", len(second), len(first))
	}
	for _, b := range [][]byte{first, second} {
		if w := post(h, reqSpec{body: b, ctype: contentTypeV1, encoding: "snappy"}); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503 (the downstream's answer): %s", w.Code, w.Body)
		}
	}
	close(late.release)
	got := map[string]bool{string(<-late.got): true, string(<-late.got): true}
	if !got[string(first)] || !got[string(second)] {
		t.Error("a body the transport was still sending was overwritten by the next request")
	}
}
