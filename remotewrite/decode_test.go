package remotewrite

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/kubetopo/kubetopo/remotewrite/rwtest"
)

// The decoders are proven against the generated gogo code: for any input,
// the generated Unmarshal and ours accept or reject alike, and what they
// decode is equal. (RW 2.0 label references outside the symbol table or odd
// in number are accepted by Unmarshal but are invalid: we reject them, as
// Prometheus' receiver does when it resolves them.)

func diffV1(t *testing.T, body []byte) {
	t.Helper()
	var want prompb.WriteRequest
	wantErr := want.Unmarshal(body)
	var got Request
	gotErr := got.decodeV1(body)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("prompb error %v, ours %v", wantErr, gotErr)
	}
	if wantErr != nil {
		return
	}
	if len(got.Series) != len(want.Timeseries) {
		t.Fatalf("%d series, want %d", len(got.Series), len(want.Timeseries))
	}
	for i, ws := range want.Timeseries {
		gs := got.Series[i]
		sameLabels(t, gs.Labels, ws.Labels)
		if len(gs.Samples) != len(ws.Samples) {
			t.Fatalf("series %d: %d samples, want %d", i, len(gs.Samples), len(ws.Samples))
		}
		for j, s := range ws.Samples {
			if math.Float64bits(gs.Samples[j].Value) != math.Float64bits(s.Value) || gs.Samples[j].Timestamp != s.Timestamp {
				t.Fatalf("series %d sample %d: %+v, want %+v", i, j, gs.Samples[j], s)
			}
		}
		if len(gs.Exemplars) != len(ws.Exemplars) {
			t.Fatalf("series %d: %d exemplars, want %d", i, len(gs.Exemplars), len(ws.Exemplars))
		}
		for j, e := range ws.Exemplars {
			ge := gs.Exemplars[j]
			sameLabels(t, ge.Labels, e.Labels)
			if math.Float64bits(ge.Value) != math.Float64bits(e.Value) || ge.Timestamp != e.Timestamp {
				t.Fatalf("series %d exemplar %d: %+v, want %+v", i, j, ge, e)
			}
		}
		if len(gs.Histograms) != len(ws.Histograms) {
			t.Fatalf("series %d: %d histograms, want %d", i, len(gs.Histograms), len(ws.Histograms))
		}
		for j, h := range ws.Histograms {
			gh := gs.Histograms[j]
			var dec prompb.Histogram
			if err := dec.Unmarshal(gh.Raw); err != nil || gh.Timestamp != h.Timestamp {
				t.Fatalf("series %d histogram %d: raw %v, timestamp %d want %d", i, j, err, gh.Timestamp, h.Timestamp)
			}
			sameMarshal(t, &dec, &h)
		}
	}
	if len(got.Metadata) != len(want.Metadata) {
		t.Fatalf("%d metadata, want %d", len(got.Metadata), len(want.Metadata))
	}
	for i, m := range want.Metadata {
		g := got.Metadata[i]
		if int32(g.Type) != int32(m.Type) || g.FamilyName != m.MetricFamilyName || g.Help != m.Help || g.Unit != m.Unit {
			t.Fatalf("metadata %d: %+v, want %+v", i, g, m)
		}
	}
}

func diffV2(t *testing.T, body []byte) {
	t.Helper()
	var want writev2.Request
	wantErr := want.Unmarshal(body)
	var got Request
	gotErr := got.decodeV2(body)
	if wantErr != nil {
		if gotErr == nil {
			t.Fatalf("writev2 error %v, ours nil", wantErr)
		}
		return
	}
	if refsInvalid(&want) {
		if !errors.Is(gotErr, errOddRefs) && !errors.Is(gotErr, errRefRange) {
			t.Fatalf("invalid references accepted: %v", gotErr)
		}
		return
	}
	if gotErr != nil {
		t.Fatalf("writev2 accepts, ours: %v", gotErr)
	}
	if len(got.Symbols) != len(want.Symbols) {
		t.Fatalf("%d symbols, want %d", len(got.Symbols), len(want.Symbols))
	}
	if len(got.Series) != len(want.Timeseries) {
		t.Fatalf("%d series, want %d", len(got.Series), len(want.Timeseries))
	}
	for i, ws := range want.Timeseries {
		gs := got.Series[i]
		sameLabels(t, gs.Labels, resolveRefs(want.Symbols, ws.LabelsRefs))
		if len(gs.Samples) != len(ws.Samples) {
			t.Fatalf("series %d: %d samples, want %d", i, len(gs.Samples), len(ws.Samples))
		}
		for j, s := range ws.Samples {
			g := gs.Samples[j]
			if math.Float64bits(g.Value) != math.Float64bits(s.Value) || g.Timestamp != s.Timestamp || g.StartTimestamp != s.StartTimestamp {
				t.Fatalf("series %d sample %d: %+v, want %+v", i, j, g, s)
			}
		}
		if len(gs.Exemplars) != len(ws.Exemplars) {
			t.Fatalf("series %d: %d exemplars, want %d", i, len(gs.Exemplars), len(ws.Exemplars))
		}
		for j, e := range ws.Exemplars {
			ge := gs.Exemplars[j]
			sameLabels(t, ge.Labels, resolveRefs(want.Symbols, e.LabelsRefs))
			if math.Float64bits(ge.Value) != math.Float64bits(e.Value) || ge.Timestamp != e.Timestamp {
				t.Fatalf("series %d exemplar %d: %+v, want %+v", i, j, ge, e)
			}
		}
		if len(gs.Histograms) != len(ws.Histograms) {
			t.Fatalf("series %d: %d histograms, want %d", i, len(gs.Histograms), len(ws.Histograms))
		}
		for j, h := range ws.Histograms {
			gh := gs.Histograms[j]
			var dec writev2.Histogram
			if err := dec.Unmarshal(gh.Raw); err != nil || gh.Timestamp != h.Timestamp {
				t.Fatalf("series %d histogram %d: raw %v, timestamp %d want %d", i, j, err, gh.Timestamp, h.Timestamp)
			}
			sameMarshal(t, &dec, &h)
		}
		m := gs.Metadata
		if int32(m.Type) != int32(ws.Metadata.Type) || m.Help != symbolOrEmpty(want.Symbols, ws.Metadata.HelpRef) || m.Unit != symbolOrEmpty(want.Symbols, ws.Metadata.UnitRef) {
			t.Fatalf("series %d metadata %+v, want %+v", i, m, ws.Metadata)
		}
	}
}

func refsInvalid(r *writev2.Request) bool {
	n := uint32(len(r.Symbols))
	bad := func(refs []uint32) bool {
		if len(refs)%2 != 0 {
			return true
		}
		for _, ref := range refs {
			if ref >= n {
				return true
			}
		}
		return false
	}
	for _, ts := range r.Timeseries {
		if bad(ts.LabelsRefs) || ts.Metadata.HelpRef >= n && ts.Metadata.HelpRef != 0 || ts.Metadata.UnitRef >= n && ts.Metadata.UnitRef != 0 {
			return true
		}
		for _, e := range ts.Exemplars {
			if bad(e.LabelsRefs) {
				return true
			}
		}
	}
	return false
}

func symbolOrEmpty(syms []string, ref uint32) string {
	if ref == 0 {
		return ""
	}
	return syms[ref]
}

func resolveRefs(syms []string, refs []uint32) []prompb.Label {
	var out []prompb.Label
	for i := 0; i+1 < len(refs); i += 2 {
		out = append(out, prompb.Label{Name: syms[refs[i]], Value: syms[refs[i+1]]})
	}
	return out
}

func sameLabels(t *testing.T, got []Label, want []prompb.Label) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("labels %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Value != want[i].Value {
			t.Fatalf("labels %v, want %v", got, want)
		}
	}
}

func sameMarshal(t *testing.T, got, want rwtest.Marshaler) {
	t.Helper()
	a, err1 := got.Marshal()
	b, err2 := want.Marshal()
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Fatalf("histograms differ (%v, %v)", err1, err2)
	}
}

func mustMarshal(m rwtest.Marshaler) []byte {
	b, err := m.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// seeds are realistic requests plus hand-made edge cases of the wire format.
func seedsV1() [][]byte {
	return [][]byte{
		mustMarshal(rwtest.V1(rwtest.Options{Series: 20, Histograms: 3, Exemplars: 4})),
		mustMarshal(rwtest.V1(rwtest.Options{Series: 5, SamplesPerSeries: 3})),
		{},
		{0x0a, 0x00}, // an empty series
		{0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 'a'}, // a series with label name "a"
		{0x0a, 0x02, 0x12, 0x05},                  // truncated sample
		{0x10, 0x01},                              // unknown varint field 2
		{0x1b, 0x08, 0x01, 0x1c},                  // a group (field 3 start/end)
		{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // huge length
	}
}

func seedsV2() [][]byte {
	return [][]byte{
		mustMarshal(rwtest.V2(rwtest.Options{Series: 20, Histograms: 3, Exemplars: 4})),
		mustMarshal(rwtest.V2(rwtest.Options{Series: 5, SamplesPerSeries: 3})),
		{},
		{0x22, 0x00, 0x22, 0x01, 'a', 0x2a, 0x02, 0x08, 0x01},             // unpacked ref: odd
		{0x22, 0x00, 0x22, 0x01, 'a', 0x2a, 0x04, 0x0a, 0x02, 0x01, 0x01}, // packed refs
		{0x2a, 0x04, 0x0a, 0x02, 0x01, 0x01, 0x22, 0x00, 0x22, 0x01, 'a'}, // series before symbols
		{0x2a, 0x02, 0x0a, 0x02},             // truncated packed refs
		{0x2a, 0x05, 0x2a, 0x03, 0x18, 0x07}, // metadata unit ref out of range
	}
}

func TestDecodeV1MatchesPrompb(t *testing.T) {
	for i, b := range seedsV1() {
		t.Run(itoa(i), func(t *testing.T) { diffV1(t, b) })
	}
}

func TestDecodeV2MatchesWritev2(t *testing.T) {
	for i, b := range seedsV2() {
		t.Run(itoa(i), func(t *testing.T) { diffV2(t, b) })
	}
}

func FuzzDecodeV1(f *testing.F) {
	for _, b := range seedsV1() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { diffV1(t, b) })
}

func FuzzDecodeV2(f *testing.F) {
	for _, b := range seedsV2() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { diffV2(t, b) })
}
