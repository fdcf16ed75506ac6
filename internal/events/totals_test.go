package events

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// textGatherer gathers what WriteMetrics writes, parsed back.
func textGatherer(t testing.TB, p *Pipeline) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		var buf bytes.Buffer
		if err := p.WriteMetrics(&buf); err != nil {
			return nil, err
		}
		return parseText(t, buf.Bytes()), nil
	})
}

func parseText(t testing.TB, text []byte) []*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		out = append(out, f)
	}
	return out
}

// oldTotal is kubetopo_events_total as it was before it left the registry: a
// CounterVec given the same changes.
func oldTotal(p *Pipeline) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: totalName, Help: totalHelp},
		[]string{"cluster", "urn", "category", "reason", "type"})
	reg.MustRegister(vec)
	p.totals.onChange = func(k counterKey, n int64, removed bool) {
		if removed {
			vec.DeleteLabelValues(p.opts.Cluster, k.urn, k.category, k.reason, k.typ)
			return
		}
		vec.WithLabelValues(p.opts.Cluster, k.urn, k.category, k.reason, k.typ).Add(float64(n))
	}
	return reg
}

func gatheredText(t *testing.T, g prometheus.Gatherer) []byte {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// The rendered family equals, byte for byte and parsed, what the CounterVec
// wrote for the same observations, after every step: series appearing,
// growing, a relist, restored checkpoint entries, series going with their
// last event, label values that need escaping, large counts.
func TestTotalsEqualCounterVec(t *testing.T) {
	p, err := New(Options{Cluster: `c"1\`, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	old := oldTotal(p)
	// Entries restored from a checkpoint: counted before, no series yet.
	p.state["restored"] = &entry{Counted: 2, Owner: "restored", Src: SrcEvents}
	p.state["gone"] = &entry{Counted: 1, Owner: "gone", Src: SrcEvents}
	weird := ev("w", 1, t0)
	weird.Reason = "Bad\"Reason\\with\nnewline"
	weird.Involved.Name = "x\\y"
	big := ev("big", 1e6, t0)
	big.Reason = "Big"
	node := Event{UID: "n1", Owner: "n1", Reason: "NodeNotReady", Type: "Warning", Count: 1, First: t0, Last: t0,
		Involved: Object{Kind: "Node", APIVersion: "v1", Name: "n1"}}
	hpa := Event{UID: "h1", Owner: "h1", Reason: "SuccessfulRescale", Type: "Normal", Count: 3, First: t0, Last: t0,
		Involved: Object{Kind: "HorizontalPodAutoscaler", APIVersion: "autoscaling/v2", Namespace: "shop", Name: "web"}}
	steps := []struct {
		name string
		do   func()
	}{
		{"empty", func() {}},
		{"first", func() { p.Observe(SrcEvents, ev("a", 3, t0)) }},
		{"same series", func() { p.Observe(SrcEvents, ev("b", 1, t0)) }},
		{"relist", func() { p.Observe(SrcEvents, ev("a", 3, t0)); p.Observe(SrcEvents, ev("b", 1, t0)) }},
		{"grows", func() { p.Observe(SrcEvents, ev("a", 7, t1)) }},
		{"restored unchanged", func() { r := ev("restored", 2, t0); r.Reason = "Restored"; p.Observe(SrcEvents, r) }},
		{"restored grows", func() { r := ev("restored", 5, t1); r.Reason = "Restored"; p.Observe(SrcEvents, r) }},
		{"other kinds", func() { p.Observe(SrcEvents, node); p.Observe(SrcEvents, hpa) }},
		{"escaping", func() { p.Observe(SrcEvents, weird) }},
		{"large count", func() { p.Observe(SrcEvents, big); big.Count = 123456789; p.Observe(SrcEvents, big) }},
		{"one of two goes", func() { p.Forget(SrcEvents, "a") }},
		{"last goes", func() { p.Forget(SrcEvents, "b") }},
		{"back from zero", func() { p.Observe(SrcEvents, ev("c", 2, t1)) }},
		{"oom", func() {
			e := ev("oom/p/app/1", 1, t0)
			e.Reason, e.Type, e.Owner = ReasonOOMKilled, "Warning", "pod-1"
			p.Observe(SrcOOM, e)
		}},
		{"sync drops the unseen", func() { p.SyncDone(SrcEvents); p.SyncDone(SrcOOM) }},
		{"pod deleted", func() { p.Forget(SrcOOM, "pod-1") }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.do()
			want := gatheredText(t, old)
			var got bytes.Buffer
			if err := p.WriteMetrics(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("rendered:\n%s\nCounterVec:\n%s", got.Bytes(), want)
			}
			gotF, wantF := parseText(t, got.Bytes()), parseText(t, want)
			if len(gotF) != len(wantF) {
				t.Fatalf("%d families, CounterVec %d", len(gotF), len(wantF))
			}
			for i := range gotF {
				if !proto.Equal(gotF[i], wantF[i]) {
					t.Errorf("parsed:\n%v\nCounterVec:\n%v", gotF[i], wantF[i])
				}
			}
		})
	}
	if n := strings.Count(string(gatheredText(t, old)), "\n"+totalName+"{"); n < 5 {
		t.Errorf("the steps leave only %d series: too few to compare", n)
	}
}

// A label value that is not UTF-8 is written replaced, not dropped (the
// CounterVec panicked on it) and the page stays parseable.
func TestTotalsInvalidUTF8(t *testing.T) {
	p, err := New(Options{Cluster: "c", Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	e := ev("a", 2, t0)
	e.Reason = "Bad\xffReason"
	p.Observe(SrcEvents, e)
	var buf bytes.Buffer
	if err := p.WriteMetrics(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `reason="Bad`+"\uFFFD"+`Reason"`) {
		t.Errorf("got %s", buf.String())
	}
	parseText(t, buf.Bytes())
	p.Forget(SrcEvents, "a")
	if buf.Reset(); p.WriteMetrics(&buf) != nil || buf.Len() != 0 {
		t.Errorf("after the event went: %q", buf.String())
	}
}

// The family is in no registry: the registry and the page each have it
// once between them.
func TestTotalsNotInRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := New(Options{Cluster: "c", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	p.Observe(SrcEvents, ev("a", 1, t0))
	mfs, err := prometheus.Gatherers{reg, textGatherer(t, p)}.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == totalName {
			n += len(mf.GetMetric())
		}
	}
	if n != 1 {
		t.Errorf("%d series of %s in the registry and the page together, want 1", n, totalName)
	}
}

// Many series rendered across several 64 KiB chunks stay whole lines.
func TestTotalsChunks(t *testing.T) {
	p, err := New(Options{Cluster: "c", Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	old := oldTotal(p)
	for i := 0; i < 3000; i++ {
		e := ev(fmt.Sprint("u", i), int64(i%7+1), t0)
		e.Involved.Name = fmt.Sprint("cart-", i)
		p.Observe(SrcEvents, e)
	}
	var got bytes.Buffer
	if err := p.WriteMetrics(&got); err != nil {
		t.Fatal(err)
	}
	if got.Len() < 3*64<<10 {
		t.Fatalf("only %d bytes: not several chunks", got.Len())
	}
	if want := gatheredText(t, old); !bytes.Equal(got.Bytes(), want) {
		t.Errorf("differs from the CounterVec's (%d vs %d bytes)", got.Len(), len(want))
	}
}

// Scrapes while events come and go always get a page that parses (go test
// -race checks the snapshot's locking).
func TestTotalsConcurrentScrapes(t *testing.T) {
	p, err := New(Options{Cluster: "c", Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			e := ev(fmt.Sprint("u", i), int64(i%5+1), t0)
			e.Involved.Name = fmt.Sprint("cart-", i%300)
			p.Observe(SrcEvents, e)
			if i%3 == 0 {
				p.Forget(SrcEvents, fmt.Sprint("u", i-30))
			}
		}
	}()
	for scrapes := 0; ; scrapes++ {
		select {
		case <-done:
			if scrapes == 0 {
				t.Log("no scrape overlapped the observations")
			}
			return
		default:
		}
		var buf bytes.Buffer
		if err := p.WriteMetrics(&buf); err != nil {
			t.Fatal(err)
		}
		parseText(t, buf.Bytes())
	}
}
