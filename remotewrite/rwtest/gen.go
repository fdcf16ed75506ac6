// Package rwtest builds realistic remote-write requests for the receiver's
// tests and benchmarks: series shaped like kube-state-metrics, cAdvisor and
// node-exporter output (about 12 labels each), as generated prompb and
// writev2 messages, marshalled and snappy-compressed.
package rwtest

import (
	"fmt"
	"math/rand"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// Options shape a batch.
type Options struct {
	Series           int   // number of series (default 2000)
	SamplesPerSeries int   // default 1
	Histograms       int   // series that carry one native histogram sample instead of floats
	Exemplars        int   // series that carry one exemplar
	Seed             int64 // random seed
	TimestampMs      int64 // first sample timestamp (default 1_700_000_000_000)
	// Containers is the number of distinct containers (pod, id, image,
	// node...) the series belong to. The default, Series/7, gives every
	// container all 7 metric families in family-major order, as a scrape
	// and a single remote-write shard produce them; Containers = Series
	// makes every series' values unique (the worst case for compression
	// and the RW 2.0 symbol table).
	Containers int
}

var families = []struct {
	name, help, unit string
	typ              prompb.MetricMetadata_MetricType
}{
	{"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", "seconds", prompb.MetricMetadata_COUNTER},
	{"container_memory_working_set_bytes", "Current working set in bytes.", "bytes", prompb.MetricMetadata_GAUGE},
	{"container_network_receive_bytes_total", "Cumulative count of bytes received.", "bytes", prompb.MetricMetadata_COUNTER},
	{"kube_pod_container_status_restarts_total", "The number of container restarts per container.", "", prompb.MetricMetadata_COUNTER},
	{"kube_pod_status_phase", "The pods current phase.", "", prompb.MetricMetadata_GAUGE},
	{"node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.", "bytes", prompb.MetricMetadata_GAUGE},
	{"http_server_request_duration_seconds", "Duration of HTTP server requests.", "seconds", prompb.MetricMetadata_HISTOGRAM},
}

const hexdigits = "0123456789abcdef"

func hex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexdigits[r.Intn(16)]
	}
	return string(b)
}

// containerLabels returns realistic, sorted labels of container c, without
// the metric name (labels[0] is left for it).
func containerLabels(r *rand.Rand, c int) []prompb.Label {
	ns := []string{"default", "kube-system", "monitoring", "payments", "checkout", "frontend"}[c%6]
	app := []string{"api", "worker", "web", "db", "cache", "queue", "gateway"}[(c/6)%7]
	pod := fmt.Sprintf("%s-%s-%s", app, hex(r, 10), hex(r, 5))
	node := fmt.Sprintf("ip-10-0-%d-%d.eu-west-1.compute.internal", c%16, c%251)
	return []prompb.Label{ // sorted by name
		{Name: "__name__"},
		{Name: "cluster", Value: "prod-eu-west-1"},
		{Name: "container", Value: app},
		{Name: "endpoint", Value: "https-metrics"},
		{Name: "id", Value: "/kubepods/burstable/pod" + hex(r, 8) + "-" + hex(r, 4) + "/" + hex(r, 64)},
		{Name: "image", Value: "registry.example.com/" + ns + "/" + app + ":v1." + fmt.Sprint(c%40)},
		{Name: "instance", Value: fmt.Sprintf("10.0.%d.%d:10250", c%16, c%251)},
		{Name: "job", Value: "kubelet"},
		{Name: "namespace", Value: ns},
		{Name: "node", Value: node},
		{Name: "pod", Value: pod},
		{Name: "service", Value: "kubelet"},
	}
}

func histogram(ts int64, i int) prompb.Histogram {
	return prompb.Histogram{
		Count: &prompb.Histogram_CountInt{CountInt: uint64(10 + i)}, Sum: float64(i) * 1.5, Schema: 3,
		ZeroThreshold: 1e-128, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: 1},
		PositiveSpans:  []prompb.BucketSpan{{Offset: 0, Length: 2}, {Offset: 1, Length: 2}},
		PositiveDeltas: []int64{1, 2, -1, 3}, Timestamp: ts,
	}
}

// V1 builds a prometheus.WriteRequest.
func V1(o Options) *prompb.WriteRequest {
	o = defaults(o)
	r := rand.New(rand.NewSource(o.Seed))
	containers := make([][]prompb.Label, o.Containers)
	for c := range containers {
		containers[c] = containerLabels(r, c)
	}
	req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, o.Series)}
	for i := 0; i < o.Series; i++ {
		// Family-major: all containers' series of one family, then the next.
		labels := append([]prompb.Label(nil), containers[i%o.Containers]...)
		labels[0].Value = families[(i/o.Containers)%len(families)].name
		ts := prompb.TimeSeries{Labels: labels}
		if i < o.Histograms {
			ts.Histograms = []prompb.Histogram{histogram(o.TimestampMs, i)}
		} else {
			for j := 0; j < o.SamplesPerSeries; j++ {
				ts.Samples = append(ts.Samples, prompb.Sample{Value: r.Float64() * 1e6, Timestamp: o.TimestampMs + int64(j)*15000})
			}
		}
		if i < o.Exemplars {
			ts.Exemplars = []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: hex(r, 32)}}, Value: 0.25, Timestamp: o.TimestampMs}}
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	for _, f := range families {
		req.Metadata = append(req.Metadata, prompb.MetricMetadata{Type: f.typ, MetricFamilyName: f.name, Help: f.help, Unit: f.unit})
	}
	return req
}

// V2 builds the io.prometheus.write.v2.Request with the same content as V1(o).
func V2(o Options) *writev2.Request {
	v1 := V1(o)
	st := writev2.NewSymbolTable()
	meta := map[string]prompb.MetricMetadata{}
	for _, m := range v1.Metadata {
		meta[m.MetricFamilyName] = m
	}
	req := &writev2.Request{Timeseries: make([]writev2.TimeSeries, 0, len(v1.Timeseries))}
	for _, s := range v1.Timeseries {
		var refs []uint32
		var name string
		for _, l := range s.Labels {
			refs = append(refs, st.Symbolize(l.Name), st.Symbolize(l.Value))
			if l.Name == "__name__" {
				name = l.Value
			}
		}
		ts := writev2.TimeSeries{LabelsRefs: refs}
		for _, smp := range s.Samples {
			ts.Samples = append(ts.Samples, writev2.Sample{Value: smp.Value, Timestamp: smp.Timestamp})
		}
		for _, h := range s.Histograms {
			b, err := h.Marshal()
			if err != nil {
				panic(err)
			}
			var h2 writev2.Histogram
			if err := h2.Unmarshal(b); err != nil {
				panic(err)
			}
			ts.Histograms = append(ts.Histograms, h2)
		}
		for _, e := range s.Exemplars {
			var erefs []uint32
			for _, l := range e.Labels {
				erefs = append(erefs, st.Symbolize(l.Name), st.Symbolize(l.Value))
			}
			ts.Exemplars = append(ts.Exemplars, writev2.Exemplar{LabelsRefs: erefs, Value: e.Value, Timestamp: e.Timestamp})
		}
		if m, ok := meta[name]; ok {
			ts.Metadata = writev2.Metadata{Type: writev2.Metadata_MetricType(m.Type), HelpRef: st.Symbolize(m.Help), UnitRef: st.Symbolize(m.Unit)}
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = st.Symbols()
	return req
}

func defaults(o Options) Options {
	if o.Series == 0 {
		o.Series = 2000
	}
	if o.SamplesPerSeries == 0 {
		o.SamplesPerSeries = 1
	}
	if o.Containers <= 0 {
		o.Containers = max(1, (o.Series+len(families)-1)/len(families))
	}
	if o.Containers > o.Series {
		o.Containers = o.Series
	}
	if o.TimestampMs == 0 {
		o.TimestampMs = 1_700_000_000_000
	}
	return o
}

// Marshaler is what both generated request types implement.
type Marshaler interface{ Marshal() ([]byte, error) }

// Snappy marshals m and compresses it the way senders do.
func Snappy(m Marshaler) []byte {
	b, err := m.Marshal()
	if err != nil {
		panic(err)
	}
	return snappy.Encode(nil, b)
}
