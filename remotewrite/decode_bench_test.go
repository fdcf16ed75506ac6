package remotewrite

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/kubetopo/kubetopo/remotewrite/rwtest"
)

// Realistic batches: 2000 series of ~12 labels with one sample each, as
// Prometheus sends them (max_samples_per_send 2000).
var benchOpts = rwtest.Options{Series: 2000}

// cpuClock is this process's user+system CPU time: on a shared machine
// samples per CPU-second is the stable measure, wall-clock is not.
func cpuClock() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportSamples reports throughput per wall-clock and per CPU second (the
// process's CPU time since cpu0, GC included).
func reportSamples(b *testing.B, samples int, cpu0 time.Duration) {
	cpu := cpuClock() - cpu0
	b.ReportMetric(float64(samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(samples)*float64(b.N)/cpu.Seconds(), "samples/cpu-s")
}

// BenchmarkDecode: snappy + protobuf decoding of one batch, pooled buffers,
// as the handler does it. "scrape" batches are shaped as a scrape writes
// them (each container's values shared by its 7 metric families); "unique"
// ones give every series its own container id, pod and node (the worst case).
func BenchmarkDecode(b *testing.B) {
	for _, shape := range []string{"scrape", "unique"} {
		for _, p := range []Protocol{V1, V2} {
			benchmarkDecode(b, shape, p)
		}
	}
}

func benchmarkDecode(b *testing.B, shape string, p Protocol) {
	o := benchOpts
	if shape == "unique" {
		o.Containers = o.Series
	}
	{
		var body []byte
		if p == V1 {
			body = rwtest.Snappy(rwtest.V1(o))
		} else {
			body = rwtest.Snappy(rwtest.V2(o))
		}
		b.Run(shape+"/ours/"+p.String(), func(b *testing.B) {
			var req Request
			var buf []byte
			b.ReportAllocs()
			cpu0 := cpuClock()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				n, _ := snappy.DecodedLen(body)
				if cap(buf) < n {
					buf = make([]byte, n)
				}
				dec, err := snappy.Decode(buf[:cap(buf)], body)
				if err != nil {
					b.Fatal(err)
				}
				if p == V1 {
					err = req.decodeV1(dec)
				} else {
					err = req.decodeV2(dec)
				}
				if err != nil || req.Counts.Samples != benchOpts.Series {
					b.Fatal(err, req.Counts)
				}
			}
			reportSamples(b, benchOpts.Series, cpu0)
		})
		b.Run(shape+"/gogo/"+p.String(), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuClock()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				dec, err := snappy.Decode(nil, body)
				if err != nil {
					b.Fatal(err)
				}
				if p == V1 {
					var r prompb.WriteRequest
					err = r.Unmarshal(dec)
				} else {
					var r writev2.Request
					err = r.Unmarshal(dec)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			reportSamples(b, benchOpts.Series, cpu0)
		})
	}
}

// BenchmarkHandler: the whole handler (auth, limits, read, decode, encode
// when converting, compress) in process, forwarding to a downstream that
// discards.
func BenchmarkHandler(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(204)
	}))
	defer sink.Close()
	cases := []struct {
		name, in, out string
	}{
		{"1.0-passthrough", "1.0", "1.0"},
		{"2.0-passthrough", "2.0", "2.0"},
		{"2.0-to-1.0", "2.0", "1.0"},
		{"1.0-no-downstream", "1.0", ""},
		{"2.0-no-downstream", "2.0", ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var ds []Downstream
			if c.out != "" {
				d, err := NewDownstream(sink.URL, c.out, 0)
				if err != nil {
					b.Fatal(err)
				}
				ds = append(ds, d)
			}
			h, err := NewHandler(Options{Keys: NewAPIKeys(key), Downstreams: ds, Registerer: prometheus.NewRegistry()})
			if err != nil {
				b.Fatal(err)
			}
			body, ct := rwtest.Snappy(rwtest.V1(benchOpts)), contentTypeV1
			if c.in == "2.0" {
				body, ct = rwtest.Snappy(rwtest.V2(benchOpts)), contentTypeV2
			}
			b.ReportAllocs()
			cpu0 := cpuClock()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
				r.Header.Set("Content-Type", ct)
				r.Header.Set("Content-Encoding", "snappy")
				r.Header.Set("X-API-Key", key)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 204 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
			reportSamples(b, benchOpts.Series, cpu0)
		})
	}
}
