//go:build integration

package receiver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
	"github.com/kubetopo/kubetopo/remotewrite/rwtest"
)

// Benchmark parameters: clients each send their own series (no two
// clients share a series, so the TSDB receivers never see out-of-order
// samples), batchesPerClient batches of 2000 samples in timestamp order.
const (
	benchClients     = 2
	batchesPerClient = 150
	seriesPerBatch   = 2000
	warmupBatches    = 20 // per client, before measuring a target that stores nothing
)

// mallocs reads go_memstats_mallocs_total from a Go process's /metrics.
func mallocs(t testing.TB, base string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "go_memstats_mallocs_total ") {
			v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return v
		}
	}
	t.Fatalf("%s/metrics has no go_memstats_mallocs_total", base)
	return 0
}

type batches struct {
	ctype string
	vers  string
	body  [benchClients][][]byte
}

func makeBatches(proto string, start time.Time) *batches {
	bs := &batches{ctype: ctV1, vers: "0.1.0"}
	if proto == "2.0" {
		bs.ctype, bs.vers = ctV2, "2.0.0"
	}
	for c := 0; c < benchClients; c++ {
		for k := 0; k < batchesPerClient; k++ {
			o := rwtest.Options{Series: seriesPerBatch, Seed: int64(c + 1), TimestampMs: start.UnixMilli() + int64(k)*1000}
			if proto == "2.0" {
				bs.body[c] = append(bs.body[c], rwtest.Snappy(rwtest.V2(o)))
			} else {
				bs.body[c] = append(bs.body[c], rwtest.Snappy(rwtest.V1(o)))
			}
		}
	}
	return bs
}

// drive sends every batch to url (clients in parallel, each in order),
// rounds times over, and fails on any non-2xx answer.
func drive(b *testing.B, url string, bs *batches, auth bool, rounds int) time.Duration {
	return driveN(b, url, bs, auth, rounds*len(bs.body[0]))
}

// driveN sends each client's first n batches (cycling through them).
func driveN(b *testing.B, url string, bs *batches, auth bool, n int) time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	var wg sync.WaitGroup
	errs := make(chan error, benchClients)
	t0 := time.Now()
	for c := 0; c < benchClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < n; k++ {
				body := bs.body[c][k%len(bs.body[c])]
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", bs.ctype)
				req.Header.Set("Content-Encoding", "snappy")
				req.Header.Set("X-Prometheus-Remote-Write-Version", bs.vers)
				if auth {
					req.Header.Set("X-API-Key", apiKey)
				}
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					errs <- fmt.Errorf("%s: %s", resp.Status, msg)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// measure drives one target process and reports samples per CPU-second of
// that process, allocations per sample, wall-clock throughput and the
// machine's 1-minute load average at the end (a shared machine: the CPU-time
// measure is robust against waiting for a core, not against sharing caches).
//
// rounds > 1 (for the receivers that store nothing) first sends
// warmupBatches per client unmeasured, so that the process measured is in
// its steady state (connections open, pools and buffers grown, as in a
// receiver that has been running), then sends the batches rounds times over,
// so that the 10 ms resolution of the CPU clock stays below 1 %. The TSDB
// receivers get each batch once, without warm-up (a re-sent batch would be
// duplicate samples, less work for them).
func measure(b *testing.B, base string, pid int, bs *batches, auth bool, rounds int) {
	if rounds > 1 {
		driveN(b, base+"/api/v1/write", bs, auth, warmupBatches)
	}
	total := float64(rounds * benchClients * batchesPerClient * seriesPerBatch)
	m0, c0 := mallocs(b, base), testenv.CPUSeconds(b, pid)
	wall := drive(b, base+"/api/v1/write", bs, auth, rounds)
	c1, m1 := testenv.CPUSeconds(b, pid), mallocs(b, base)
	cpu := c1 - c0
	b.ReportMetric(total/cpu, "samples/cpu-s")
	b.ReportMetric((m1-m0)/total, "allocs/sample")
	b.ReportMetric(cpu, "cpu-s")
	b.ReportMetric(total/wall.Seconds(), "samples/s")
	b.ReportMetric(load1(), "load1")
}

// load1 is the 1-minute load average.
func load1() float64 {
	f := strings.Fields(testenv.LoadAvg())
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// BenchmarkReceiverVsPrometheus drives the same realistic batches over
// loopback HTTP into kubetopo-receiver and into Prometheus' own
// remote-write receivers (3.15: RW 1.0 and 2.0; 2.42: RW 1.0), and compares
// each process's CPU time. Run it once: -benchtime 1x.
func BenchmarkReceiverVsPrometheus(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now().Add(-30 * time.Minute)
	all := map[string]*batches{"1.0": makeBatches("1.0", start), "2.0": makeBatches("2.0", start)}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sink.Close()
	for _, proto := range []string{"1.0", "2.0"} {
		for _, mode := range []struct{ name, flags, forward string }{
			{"ack-only", "", ""},
			{"forward-1.0", "--forward.url=" + sink.URL + "/write --forward.protocol=1.0", sink.URL + "/write 1.0"},
			{"forward-2.0", "--forward.url=" + sink.URL + "/write --forward.protocol=2.0", sink.URL + "/write 2.0"},
		} {
			// The write path alone (remotewrite.Handler in its own process).
			b.Run("write-path/in="+proto+"/"+mode.name, func(b *testing.B) {
				r := startWritePath(b, ctx, mode.forward)
				measure(b, r.URL, r.cmd.Process.Pid, all[proto], true, 8)
			})
			// The kubetopo-receiver binary: the write path plus the topology
			// Processor of issue 6 (mapping every series, urn enrichment).
			b.Run("kubetopo-receiver/in="+proto+"/"+mode.name, func(b *testing.B) {
				r := startReceiver(b, ctx, strings.Fields(mode.flags)...)
				measure(b, r.URL, r.cmd.Process.Pid, all[proto], true, 2)
			})
		}
		bins := []string{testbed.Prometheus3}
		if proto == "1.0" {
			bins = append(bins, testbed.Prometheus2)
		}
		for _, bin := range bins {
			b.Run(bin+"/in="+proto, func(b *testing.B) {
				p := startProm(b, ctx, bin, "global: {}\n", downstreamFlags(bin)...)
				measure(b, p.URL, p.PID(), all[proto], false, 1)
			})
		}
	}
}
