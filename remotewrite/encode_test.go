package remotewrite

import (
	"testing"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/kubetopo/kubetopo/remotewrite/rwtest"
)

// TestConvert re-encodes decoded requests in both protocols and checks with
// the generated code that nothing was lost: labels, samples, histograms,
// exemplars and metadata, and that SetLabel merges a label in sorted order.
func TestConvert(t *testing.T) {
	o := rwtest.Options{Series: 50, Histograms: 5, Exemplars: 7, SamplesPerSeries: 2}
	in := map[Protocol][]byte{V1: mustMarshal(rwtest.V1(o)), V2: mustMarshal(rwtest.V2(o))}
	want := rwtest.V1(o)
	for _, from := range []Protocol{V1, V2} {
		for _, to := range []Protocol{V1, V2} {
			for _, enrich := range []string{"", "urn:kubernetes:/prod:default:pod/x"} {
				t.Run(from.String()+"->"+to.String()+"/urn="+enrich, func(t *testing.T) {
					var r Request
					var err error
					if from == V1 {
						err = r.decodeV1(in[from])
					} else {
						err = r.decodeV2(in[from])
					}
					if err != nil {
						t.Fatal(err)
					}
					if enrich != "" {
						for i := range r.Series {
							r.SetLabel(i, "urn", "placeholder")
							r.SetLabel(i, "urn", enrich) // the last one wins
						}
					}
					var out []byte
					var sym symbolizer
					meta := map[string]Metadata{}
					if to == V1 {
						out = r.encodeV1(nil, meta)
					} else {
						out = r.encodeV2(nil, &sym, meta)
					}
					var got prompb.WriteRequest
					if to == V1 {
						if err := got.Unmarshal(out); err != nil {
							t.Fatal(err)
						}
					} else {
						var v2 writev2.Request
						if err := v2.Unmarshal(out); err != nil {
							t.Fatal(err)
						}
						got = toV1(t, &v2)
					}
					compareV1(t, &got, want, enrich, from != to || to == V2)
				})
			}
		}
	}
}

// toV1 converts with the generated types (the reference conversion).
func toV1(t *testing.T, r *writev2.Request) prompb.WriteRequest {
	var out prompb.WriteRequest
	seen := map[string]bool{}
	for _, ts := range r.Timeseries {
		s := prompb.TimeSeries{Labels: resolveRefs(r.Symbols, ts.LabelsRefs)}
		for _, smp := range ts.Samples {
			s.Samples = append(s.Samples, prompb.Sample{Value: smp.Value, Timestamp: smp.Timestamp})
		}
		for _, e := range ts.Exemplars {
			s.Exemplars = append(s.Exemplars, prompb.Exemplar{Labels: resolveRefs(r.Symbols, e.LabelsRefs), Value: e.Value, Timestamp: e.Timestamp})
		}
		for _, h := range ts.Histograms {
			b, _ := h.Marshal()
			var h1 prompb.Histogram
			if err := h1.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			s.Histograms = append(s.Histograms, h1)
		}
		name := ""
		for _, l := range s.Labels {
			if l.Name == "__name__" {
				name = l.Value
			}
		}
		if m := ts.Metadata; m.Type != 0 && !seen[name] {
			seen[name] = true
			out.Metadata = append(out.Metadata, prompb.MetricMetadata{Type: prompb.MetricMetadata_MetricType(m.Type), MetricFamilyName: name, Help: r.Symbols[m.HelpRef], Unit: r.Symbols[m.UnitRef]})
		}
		out.Timeseries = append(out.Timeseries, s)
	}
	return out
}

func compareV1(t *testing.T, got, want *prompb.WriteRequest, urn string, metaByName bool) {
	t.Helper()
	if len(got.Timeseries) != len(want.Timeseries) {
		t.Fatalf("%d series, want %d", len(got.Timeseries), len(want.Timeseries))
	}
	for i := range want.Timeseries {
		w, g := want.Timeseries[i], got.Timeseries[i]
		wl := append([]prompb.Label(nil), w.Labels...)
		if urn != "" {
			wl = append(wl, prompb.Label{Name: "urn", Value: urn}) // sorts last among these names
		}
		gl := make([]Label, len(g.Labels))
		for j, l := range g.Labels {
			gl[j] = Label{l.Name, l.Value}
		}
		sameLabels(t, gl, wl)
		a, _ := (&prompb.TimeSeries{Samples: g.Samples, Exemplars: g.Exemplars, Histograms: g.Histograms}).Marshal()
		b, _ := (&prompb.TimeSeries{Samples: w.Samples, Exemplars: w.Exemplars, Histograms: w.Histograms}).Marshal()
		if string(a) != string(b) {
			t.Fatalf("series %d: samples, exemplars or histograms differ", i)
		}
	}
	// Metadata: RW 1.0 keeps its family entries; converted from 2.0 there is
	// one entry per metric name that has metadata.
	types := map[string]prompb.MetricMetadata_MetricType{}
	for _, m := range want.Metadata {
		types[m.MetricFamilyName] = m.Type
	}
	if len(got.Metadata) == 0 {
		t.Fatal("metadata lost")
	}
	for _, m := range got.Metadata {
		if types[m.MetricFamilyName] != m.Type || m.Help == "" {
			t.Fatalf("metadata %+v does not match the input", m)
		}
	}
	_ = metaByName
}
