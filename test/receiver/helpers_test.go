//go:build integration

package receiver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const apiKey = "integration-test-key"

// receiver is a running kubetopo-receiver process.
type receiver struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
	err  error
}

// startReceiver runs the receiver with an API key file and the given flags.
func startReceiver(t testing.TB, ctx context.Context, flags ...string) *receiver {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keyFile, []byte("# test keys\n"+apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	r := &receiver{URL: "http://" + addr, log: filepath.Join(dir, "receiver.log"), done: make(chan struct{})}
	logf, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--web.listen-address=" + addr, "--auth.api-key-file=" + keyFile, "--log.level=debug"}, flags...)
	r.cmd = exec.Command(testenv.Binary(receiverName), args...)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); logf.Close(); close(r.done) }()
	t.Cleanup(func() { r.stop(t) })
	waitFor(t, ctx, "receiver ready", func() (bool, string) {
		select {
		case <-r.done:
			t.Fatalf("receiver exited: %v\n%s", r.err, r.logTail())
		default:
		}
		resp, err := http.Get(r.URL + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return r
}

// stop sends SIGTERM and waits for the exit; it is idempotent.
func (r *receiver) stop(t testing.TB) {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(40 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Errorf("receiver did not stop on SIGTERM:\n%s", r.logTail())
	}
}

func (r *receiver) logTail() string { return testenv.LogTail(r.log) }

// metric returns the sum of the receiver's own metric samples whose line
// starts with prefix (name and optionally labels).
func (r *receiver) metric(t testing.TB, prefix string) float64 {
	t.Helper()
	resp, err := http.Get(r.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t testing.TB, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	testenv.Poll(t, ctx, 200*time.Millisecond, what, cond)
}

// target is a static exposition whose counters advance on every scrape.
type target struct {
	srv     *httptest.Server
	scrapes atomic.Int64
}

func startTarget(t testing.TB) *target {
	tg := &target{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(tg.serve)}}
	tg.srv.Start()
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *target) addr() string { return strings.TrimPrefix(tg.srv.URL, "http://") }

func (tg *target) serve(w http.ResponseWriter, _ *http.Request) {
	n := tg.scrapes.Add(1)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# HELP kubetopo_test_requests_total Requests served.")
	fmt.Fprintln(w, "# TYPE kubetopo_test_requests_total counter")
	for i := 0; i < 12; i++ {
		fmt.Fprintf(w, "kubetopo_test_requests_total{code=\"%d\",path=\"/api/v%d/items\",pod=\"api-7d9f8b6c5-x%02d\",namespace=\"shop\"} %d\n", 200+i%3*100, i%4, i, n*int64(i+1))
	}
	fmt.Fprintln(w, "# HELP kubetopo_test_temperature_celsius A gauge.")
	fmt.Fprintln(w, "# TYPE kubetopo_test_temperature_celsius gauge")
	fmt.Fprintf(w, "kubetopo_test_temperature_celsius{room=\"lab\"} %g\n", 20+float64(n%7)*0.25)
	fmt.Fprintln(w, "# HELP kubetopo_test_latency_seconds A histogram.")
	fmt.Fprintln(w, "# TYPE kubetopo_test_latency_seconds histogram")
	for i, le := range []string{"0.1", "0.5", "1", "+Inf"} {
		fmt.Fprintf(w, "kubetopo_test_latency_seconds_bucket{le=%q} %d\n", le, n*int64(i+1))
	}
	fmt.Fprintf(w, "kubetopo_test_latency_seconds_sum %g\nkubetopo_test_latency_seconds_count %d\n", float64(n)*1.75, n*4)
	fmt.Fprintln(w, "# HELP kubetopo_test_build_info Build information.")
	fmt.Fprintln(w, "# TYPE kubetopo_test_build_info gauge")
	fmt.Fprintln(w, `kubetopo_test_build_info{version="1.2.3",revision="abc123"} 1`)
}

// senderConfig is a Prometheus config scraping tg every second and
// remote-writing to the receiver with the API key as basic-auth password.
func senderConfig(t testing.TB, tg *target, rcv *receiver, rw2 bool) string {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(apiKey), 0o600); err != nil {
		t.Fatal(err)
	}
	proto := ""
	if rw2 {
		proto = "\n    protobuf_message: io.prometheus.write.v2.Request"
	}
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: static
    static_configs:
      - targets: [%q]
remote_write:
  - url: %s/api/v1/write
    basic_auth:
      username: apikey
      password_file: %s%s
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
      max_backoff: 1s
`, tg.addr(), rcv.URL, keyFile, proto)
}

// downstreamFlags turn a Prometheus into a remote-write receiver.
func downstreamFlags(bin string) []string {
	if bin == testbed.Prometheus3 {
		return []string{"--web.enable-remote-write-receiver",
			"--web.remote-write-receiver.accepted-protobuf-messages=prometheus.WriteRequest",
			"--web.remote-write-receiver.accepted-protobuf-messages=io.prometheus.write.v2.Request"}
	}
	return []string{"--web.enable-remote-write-receiver"}
}

func startProm(t testing.TB, ctx context.Context, bin, config string, flags ...string) *testbed.Prometheus {
	t.Helper()
	p, err := testbed.StartPrometheusBinary(ctx, filepath.Join(testenv.BinDir(), bin), t.TempDir(), config, flags...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}

// series is a range query's result: labels → "ts:value ..." of every sample.
type series map[string]string

// queryRange runs an instant query of a range selector at time at and returns
// every raw sample by series.
func queryRange(ctx context.Context, promURL, selector string, at time.Time) (series, error) {
	q := url.Values{"query": {selector}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, promURL+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, fmt.Errorf("query %s: %s: %w", selector, resp.Status, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", selector, body.Error)
	}
	out := series{}
	for _, r := range body.Data.Result {
		names := make([]string, 0, len(r.Metric))
		for k := range r.Metric {
			names = append(names, k)
		}
		sort.Strings(names)
		var key strings.Builder
		for _, k := range names {
			fmt.Fprintf(&key, "%s=%q,", k, r.Metric[k])
		}
		var vals strings.Builder
		for _, v := range r.Values {
			fmt.Fprintf(&vals, "%v:%v ", v[0], v[1])
		}
		out[key.String()] = vals.String()
	}
	return out, nil
}

// countSamples is the number of samples in s.
func (s series) samples() int {
	n := 0
	for _, v := range s {
		n += strings.Count(v, " ")
	}
	return n
}

// diff describes how got differs from want (empty: equal).
func diff(want, got series) string {
	var out []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, "missing series "+k)
		case g != v:
			out = append(out, fmt.Sprintf("series %s: %d samples, want %d", k, strings.Count(g, " "), strings.Count(v, " ")))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, "unexpected series "+k)
		}
	}
	sort.Strings(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... and %d more", len(out)-10))
	}
	return strings.Join(out, "\n")
}

// sameData waits until every downstream holds exactly what the sender
// stored in the window ending at, series by series and sample by sample.
func sameData(t *testing.T, ctx context.Context, sender *testbed.Prometheus, at time.Time, downstreams ...*testbed.Prometheus) series {
	t.Helper()
	const sel = `{__name__=~".+"}[1h]`
	want, err := queryRange(ctx, sender.URL, sel, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("the sender stored nothing")
	}
	for _, d := range downstreams {
		waitFor(t, ctx, "the downstream to hold what the sender scraped", func() (bool, string) {
			got, err := queryRange(ctx, d.URL, sel, at)
			if err != nil {
				return false, err.Error()
			}
			dd := diff(want, got)
			return dd == "", dd
		})
	}
	return want
}
