//go:build integration

package events

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// countingProxy stands between the agent and the real Prometheus: it checks
// the API key, forwards each request unchanged to Prometheus's remote-write
// receiver and, for what Prometheus acknowledged, counts every (uid, count)
// it carried. Prometheus itself would hide a duplicate (the same sample
// twice is one sample), so duplicates are counted here.
type countingProxy struct {
	url    string
	target string
	key    string

	mu       sync.Mutex
	received map[string]map[int64]int // uid → count → times acknowledged
	refused  int                      // requests Prometheus did not acknowledge
	away     int                      // requests answered 503 while down
	badAuth  int
	down     bool // answer 503 without forwarding (the receiver is away)
}

func startProxy(t *testing.T, target, key string) *countingProxy {
	t.Helper()
	p := &countingProxy{target: target, key: key, received: map[string]map[int64]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.url = "http://" + l.Addr().String() + "/api/v1/write"
	return p
}

func (p *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != p.key {
		p.mu.Lock()
		p.badAuth++
		p.mu.Unlock()
		http.Error(w, "no or wrong API key", http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	down := p.down
	if down {
		p.away++
	}
	p.mu.Unlock()
	if down {
		http.Error(w, "receiver away", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	var req prompb.WriteRequest
	if err == nil {
		err = req.Unmarshal(raw)
	}
	if err != nil {
		http.Error(w, "undecodable: "+err.Error(), http.StatusBadRequest)
		return
	}
	fwd, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, h := range []string{"Content-Type", "Content-Encoding", "X-Prometheus-Remote-Write-Version", "User-Agent"} {
		fwd.Header.Set(h, r.Header.Get(h))
	}
	resp, err := http.DefaultClient.Do(fwd)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	p.mu.Lock()
	if resp.StatusCode/100 == 2 {
		for _, ts := range req.Timeseries {
			var uid, name string
			for _, l := range ts.Labels {
				switch l.Name {
				case "uid":
					uid = l.Value
				case "__name__":
					name = l.Value
				}
			}
			if name != "kubetopo_event" || uid == "" {
				continue // topology series carry their object's uid too
			}
			if p.received[uid] == nil {
				p.received[uid] = map[int64]int{}
			}
			for _, s := range ts.Samples {
				p.received[uid][int64(s.Value)]++
			}
		}
	} else {
		p.refused++
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(msg)
}

// snapshot returns a copy of what was received.
func (p *countingProxy) snapshot() map[string]map[int64]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]map[int64]int{}
	for uid, m := range p.received {
		out[uid] = map[int64]int{}
		for c, n := range m {
			out[uid][c] = n
		}
	}
	return out
}

func (p *countingProxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

func countsString(m map[int64]int) string {
	var b bytes.Buffer
	for c, n := range m {
		b.WriteString(strconv.FormatInt(c, 10) + "×" + strconv.Itoa(n) + " ")
	}
	return b.String()
}
