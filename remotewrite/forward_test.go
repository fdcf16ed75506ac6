package remotewrite

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
