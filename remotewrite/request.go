package remotewrite

import "sort"

// Protocol is a remote-write protocol version.
type Protocol int

// The two protocols of the Remote-Write specifications.
const (
	V1 Protocol = 1 // Remote-Write 1.0, prometheus.WriteRequest
	V2 Protocol = 2 // Remote-Write 2.0, io.prometheus.write.v2.Request
)

func (p Protocol) String() string {
	switch p {
	case V1:
		return "1.0"
	case V2:
		return "2.0"
	}
	return "unknown"
}

// Label is one label of a series or exemplar. Both strings are views.
type Label struct{ Name, Value string }

// Sample is one float sample. StartTimestamp is RW 2.0's optional start
// (created) timestamp in milliseconds, 0 when unknown or RW 1.0.
type Sample struct {
	Value          float64
	Timestamp      int64
	StartTimestamp int64
}

// Histogram is one native histogram sample. Raw is its encoded protobuf
// message: RW 1.0 and 2.0 number the histogram fields identically (2.0 adds
// start_timestamp = 17, which 1.0 receivers skip), so it is passed on as is.
// It has been validated field by field.
type Histogram struct {
	Timestamp int64
	Raw       []byte
}

// Exemplar is one exemplar with its own labels.
type Exemplar struct {
	Labels    []Label
	Value     float64
	Timestamp int64
}

// MetricType is the metric type of the metadata of both protocols (same
// numbers: 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gauge histogram, 5
// summary, 6 info, 7 stateset).
type MetricType int32

// Metadata is a metric family's metadata. In RW 1.0 it comes in
// Request.Metadata with FamilyName set; in RW 2.0 each series carries its own
// (FamilyName empty).
type Metadata struct {
	Type       MetricType
	FamilyName string
	Help       string
	Unit       string
}

// Series is one time series of a request.
type Series struct {
	Labels     []Label
	Samples    []Sample
	Histograms []Histogram
	Exemplars  []Exemplar
	Metadata   Metadata // RW 2.0 only
}

// Get returns the value of the label name, "" when absent.
func (s *Series) Get(name string) string {
	for i := range s.Labels {
		if s.Labels[i].Name == name {
			return s.Labels[i].Value
		}
	}
	return ""
}

// Counts are the numbers of samples, histogram samples and exemplars of a
// request: what the RW 2.0 X-Prometheus-Remote-Write-*-Written headers report.
type Counts struct {
	Samples, Histograms, Exemplars int
}

// Request is one decoded remote-write request. It and everything reachable
// from it is owned by the handler and reused for later requests: a Processor
// must copy what it keeps (strings.Clone) before it returns.
type Request struct {
	Protocol Protocol
	Series   []Series
	Metadata []Metadata // RW 1.0 metadata entries
	Symbols  []string   // RW 2.0 symbol table (index 0 is "")
	Counts   Counts

	adds []labelAdd // label additions from the Processor, by series

	// backing arrays, reused across requests
	labels    []Label
	samples   []Sample
	hists     []Histogram
	exemplars []Exemplar
	exLabels  []Label
	refs      []uint32
}

type labelAdd struct {
	series int
	Label
}

// SetLabel sets label name to value on series i (replacing a label of the same
// name) in what is forwarded. The change is applied when the request is
// encoded for the downstreams, after the Processor returns; name and value
// must stay valid until then, which views of this request do. Setting any
// label makes the receiver re-encode the request instead of forwarding the
// sender's body.
func (r *Request) SetLabel(i int, name, value string) {
	r.adds = append(r.adds, labelAdd{series: i, Label: Label{name, value}})
}

// Modified reports whether a Processor changed the request.
func (r *Request) Modified() bool { return len(r.adds) > 0 }

func (r *Request) reset() {
	r.Series = r.Series[:0]
	r.Metadata = r.Metadata[:0]
	r.Symbols = r.Symbols[:0]
	r.Counts = Counts{}
	r.adds = r.adds[:0]
	r.labels = r.labels[:0]
	r.samples = r.samples[:0]
	r.hists = r.hists[:0]
	r.exemplars = r.exemplars[:0]
	r.exLabels = r.exLabels[:0]
	r.refs = r.refs[:0]
}

// sortedAdds returns the label additions in a form the encoders merge: sorted
// by series then name, the last SetLabel of a name winning.
func (r *Request) sortedAdds() []labelAdd {
	if len(r.adds) < 2 {
		return r.adds
	}
	sort.SliceStable(r.adds, func(a, b int) bool {
		if r.adds[a].series != r.adds[b].series {
			return r.adds[a].series < r.adds[b].series
		}
		return r.adds[a].Name < r.adds[b].Name
	})
	out := r.adds[:0]
	for _, a := range r.adds {
		if n := len(out); n > 0 && out[n-1].series == a.series && out[n-1].Name == a.Name {
			out[n-1] = a
			continue
		}
		out = append(out, a)
	}
	r.adds = out
	return out
}
