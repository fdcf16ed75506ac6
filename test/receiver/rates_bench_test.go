//go:build integration

package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
	"github.com/kubetopo/kubetopo/remotewrite/rwtest"
)

// Rate steps of BenchmarkReceiverRates: offered load in samples per second,
// each held for rateStepDuration, in batches of seriesPerBatch samples sent by
// rateStreams senders (each its own series, in timestamp order, so TSDB
// receivers see no out-of-order samples).
var rateSteps = []int{25_000, 50_000, 100_000, 200_000}

const (
	rateStepDuration = 10 * time.Second
	rateStreams      = 4
)

// rateResult is one target at one offered rate.
type rateResult struct {
	Target          string  `json:"target"`
	Protocol        string  `json:"protocol"`
	OfferedPerSec   int     `json:"offered_samples_per_s"`
	AchievedPerSec  float64 `json:"achieved_samples_per_s"`
	Requests        int     `json:"requests"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
	LagP99ms        float64 `json:"lag_p99_ms"` // scheduled send → answer: includes waiting behind a slow request
	CPUSec          float64 `json:"cpu_s"`
	SamplesPerCPUs  float64 `json:"samples_per_cpu_s"`
	AllocsPerSample float64 `json:"allocs_per_sample"`
	RSSBytes        int64   `json:"rss_bytes"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`
	Load            string  `json:"load"`
}

// rateStreamsFor pre-generates every batch of every step for one protocol:
// stream s, batch j has timestamp start + j seconds.
func rateStreamsFor(proto string, start time.Time) [rateStreams][][]byte {
	var out [rateStreams][][]byte
	perStream := 0
	for _, r := range rateSteps {
		perStream += int(math.Ceil(float64(r) / seriesPerBatch / rateStreams * rateStepDuration.Seconds()))
	}
	for s := 0; s < rateStreams; s++ {
		for j := 0; j < perStream; j++ {
			o := rwtest.Options{Series: seriesPerBatch, Seed: int64(100 + s), TimestampMs: start.UnixMilli() + int64(j)*1000}
			if proto == "2.0" {
				out[s] = append(out[s], rwtest.Snappy(rwtest.V2(o)))
			} else {
				out[s] = append(out[s], rwtest.Snappy(rwtest.V1(o)))
			}
		}
	}
	return out
}

// BenchmarkReceiverRates offers kubetopo-receiver (ack-only) and Prometheus'
// own remote-write receivers (3.15: RW 1.0 and 2.0; 2.42: RW 1.0) the same
// batches at increasing rates, open loop, and records per step the request
// latency, the process's CPU, samples per CPU-second, allocations per sample
// and RSS. Run once (-benchtime 1x); results go to $KUBETOPO_BENCH_RW_OUT
// when set.
func BenchmarkReceiverRates(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now().Add(-50 * time.Minute)
	run := struct {
		Date, Command, LoadStart, LoadEnd string
		Results                           []rateResult
	}{Date: time.Now().UTC().Format(time.RFC3339), LoadStart: testenv.LoadAvg(),
		Command: "go test -tags integration -run '^$' -bench ReceiverRates -benchtime 1x ./test/receiver/ (hack/bench/run-rw.sh)"}
	for _, proto := range []string{"1.0", "2.0"} {
		streams := rateStreamsFor(proto, start)
		ctype, vers := ctV1, "0.1.0"
		if proto == "2.0" {
			ctype, vers = ctV2, "2.0.0"
		}
		targets := []string{"kubetopo-receiver", testbed.Prometheus3}
		if proto == "1.0" {
			targets = append(targets, testbed.Prometheus2)
		}
		for _, target := range targets {
			b.Run(target+"/in="+proto, func(b *testing.B) {
				var base string
				var pid int
				auth := false
				if target == "kubetopo-receiver" {
					r := startReceiver(b, ctx)
					base, pid, auth = r.URL, r.cmd.Process.Pid, true
				} else {
					p := startProm(b, ctx, target, "global: {}\n", downstreamFlags(target)...)
					base, pid = p.URL, p.PID()
				}
				next := [rateStreams]int{}
				for _, rate := range rateSteps {
					res := rateStep(b, base+"/api/v1/write", pid, streams, &next, rate, ctype, vers, auth, base)
					res.Target, res.Protocol = target, proto
					b.Logf("%s RW %s at %d samples/s: achieved %.0f/s, p50 %.1f ms p99 %.1f ms (lag p99 %.1f ms), %.2f CPU-s, %.0f samples/CPU-s, %.2f allocs/sample, RSS %.1f MiB (peak %.1f)",
						target, proto, rate, res.AchievedPerSec, res.P50ms, res.P99ms, res.LagP99ms, res.CPUSec, res.SamplesPerCPUs, res.AllocsPerSample,
						float64(res.RSSBytes)/(1<<20), float64(res.PeakRSSBytes)/(1<<20))
					run.Results = append(run.Results, res)
				}
			})
		}
	}
	if out := os.Getenv("KUBETOPO_BENCH_RW_OUT"); out != "" {
		run.LoadEnd = testenv.LoadAvg()
		body, _ := json.MarshalIndent(run, "", "  ")
		if err := os.WriteFile(out, append(body, '\n'), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// rateStep sends rate samples/s for rateStepDuration: stream s sends its
// batch k at t0 + k*interval, or as soon as its previous request answered.
func rateStep(b *testing.B, url string, pid int, streams [rateStreams][][]byte, next *[rateStreams]int, rate int,
	ctype, vers string, auth bool, base string) rateResult {
	perStream := int(math.Ceil(float64(rate) / seriesPerBatch / rateStreams * rateStepDuration.Seconds()))
	interval := time.Duration(float64(rateStepDuration) / float64(perStream))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: rateStreams}}
	m0, c0 := mallocs(b, base), testenv.CPUSeconds(b, pid)
	var mu sync.Mutex
	var lat, lag []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, rateStreams)
	t0 := time.Now()
	for s := 0; s < rateStreams; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < perStream; k++ {
				sched := t0.Add(time.Duration(k) * interval)
				if d := time.Until(sched); d > 0 {
					time.Sleep(d) // open-loop pacing of the offered load
				}
				body := streams[s][next[s]+k]
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				req.Header.Set("Content-Encoding", "snappy")
				req.Header.Set("X-Prometheus-Remote-Write-Version", vers)
				if auth {
					req.Header.Set("X-API-Key", apiKey)
				}
				sent := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				done := time.Now()
				if resp.StatusCode/100 != 2 {
					errs <- fmt.Errorf("%s: %s", resp.Status, msg)
					return
				}
				mu.Lock()
				lat, lag = append(lat, done.Sub(sent)), append(lag, done.Sub(sched))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for s := range next {
		next[s] += perStream
	}
	c1, m1 := testenv.CPUSeconds(b, pid), mallocs(b, base)
	samples := float64(rateStreams * perStream * seriesPerBatch)
	rss, peak := testenv.Memory(b, pid)
	cpu := c1 - c0
	return rateResult{
		OfferedPerSec: rate, AchievedPerSec: samples / wall.Seconds(), Requests: len(lat),
		P50ms: testenv.QuantileMs(lat, 0.5), P99ms: testenv.QuantileMs(lat, 0.99), LagP99ms: testenv.QuantileMs(lag, 0.99),
		CPUSec: cpu, SamplesPerCPUs: samples / math.Max(cpu, 0.01), AllocsPerSample: (m1 - m0) / samples,
		RSSBytes: rss, PeakRSSBytes: peak, Load: testenv.LoadAvg(),
	}
}
