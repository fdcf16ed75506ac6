package events

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/prompb"
)

// recorder is a Writer that records what it was given; fail makes the next
// writes fail with the given error.
type recorder struct {
	mu   sync.Mutex
	got  []prompb.TimeSeries
	fail []error
}

type permanent struct{}

func (permanent) Error() string   { return "400 Bad Request" }
func (permanent) Permanent() bool { return true }

func (r *recorder) Write(ctx context.Context, s []prompb.TimeSeries) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.fail) > 0 {
		err := r.fail[0]
		r.fail = r.fail[1:]
		return err
	}
	r.got = append(r.got, s...)
	return nil
}

// delivered returns uid → counts delivered, in order.
func (r *recorder) delivered() map[string][]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]int64{}
	for _, s := range r.got {
		uid := label(s, "uid")
		out[uid] = append(out[uid], int64(s.Samples[0].Value))
	}
	return out
}

func label(s prompb.TimeSeries, name string) string {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

func ev(uid string, count int64, last time.Time) Event {
	return Event{UID: uid, Owner: uid, Reason: "BackOff", Type: "Normal", Message: "m", Count: count, First: t0, Last: last,
		Involved: Object{Kind: "Pod", APIVersion: "v1", Namespace: "shop", Name: "cart-1", FieldPath: "spec.containers{app}"}, Source: "kubelet"}
}

type harness struct {
	p   *Pipeline
	w   *recorder
	reg *prometheus.Registry
	all prometheus.Gatherer // reg and the pipeline's own page
}

func newHarness(t *testing.T, checkpoint string, w *recorder) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := Options{Cluster: "c", CheckpointFile: checkpoint, Registerer: reg}
	if w != nil {
		opts.Writer = w
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{p: p, w: w, reg: reg, all: prometheus.Gatherers{reg, textGatherer(t, p)}}
}

// drain delivers everything queued, as Run would.
func (h *harness) drain(ctx context.Context) {
	for h.p.deliverBatch(ctx) {
	}
	h.p.flush()
}

func (h *harness) total(t *testing.T) float64 {
	t.Helper()
	return value(t, h.all, "kubetopo_events_total", map[string]string{
		"cluster": "c", "urn": "urn:kubernetes:/c:shop:pod/cart-1:container/app", "category": "Activities", "reason": "BackOff", "type": "Normal",
	})
}

// value returns the value of the series of the family with the given labels
// (0 when absent), and fails on a family with series of other label names.
func value(t *testing.T, g prometheus.Gatherer, family string, want map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return metricValue(m)
		}
	}
	return 0
}

func metricValue(m *dto.Metric) float64 {
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

func seriesCount(t *testing.T, g prometheus.Gatherer, family string) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == family {
			return len(mf.GetMetric())
		}
	}
	return 0
}

func TestPipelineCountsNewOccurrences(t *testing.T) {
	h := newHarness(t, "", nil)
	h.p.Observe(SrcEvents, ev("a", 3, t0))
	if got := h.total(t); got != 3 {
		t.Fatalf("after count 3: %v", got)
	}
	h.p.Observe(SrcEvents, ev("a", 3, t0)) // relist, same state
	h.p.Observe(SrcEvents, ev("a", 5, t1))
	if got := h.total(t); got != 5 {
		t.Fatalf("3 → 5 must add 2: total %v", got)
	}
	// The series goes when its last event is gone.
	h.p.Forget(SrcEvents, "a")
	if n := seriesCount(t, h.all, "kubetopo_events_total"); n != 0 {
		t.Errorf("%d series after the event was deleted", n)
	}
}

func TestPipelineDeliversEachCountOnce(t *testing.T) {
	w := &recorder{}
	h := newHarness(t, "", w)
	ctx := context.Background()
	h.p.Observe(SrcEvents, ev("a", 1, t0))
	h.p.Observe(SrcEvents, ev("b", 1, t0))
	h.drain(ctx)
	h.p.Observe(SrcEvents, ev("a", 1, t0)) // already delivered
	h.p.Observe(SrcEvents, ev("a", 2, t0)) // same second as count 1
	h.drain(ctx)
	got := w.delivered()
	if len(got["a"]) != 2 || got["a"][0] != 1 || got["a"][1] != 2 || len(got["b"]) != 1 {
		t.Fatalf("delivered %v", got)
	}
	// Kubernetes' second-precision times: the second sample of "a" is still
	// later than the first, so a TSDB takes both.
	var ts []int64
	for _, s := range w.got {
		if label(s, "uid") == "a" {
			ts = append(ts, s.Samples[0].Timestamp)
		}
	}
	if ts[1] <= ts[0] {
		t.Errorf("timestamps of a: %v, want increasing", ts)
	}
}

func TestPipelineSeries(t *testing.T) {
	w := &recorder{}
	h := newHarness(t, "", w)
	e := ev("a", 4, t1)
	e.Message = strings.Repeat("x", 2000)
	h.p.Observe(SrcEvents, e)
	h.drain(context.Background())
	if len(w.got) != 1 {
		t.Fatalf("%d series", len(w.got))
	}
	s := w.got[0]
	want := map[string]string{
		"__name__": "kubetopo_event", "cluster": "c", "urn": "urn:kubernetes:/c:shop:pod/cart-1:container/app", "uid": "a",
		"category": "Activities", "reason": "BackOff", "type": "Normal", "kind": "Pod", "namespace": "shop", "name": "cart-1",
		"field_path": "spec.containers{app}", "source": "kubelet", "first_seen": "2026-12-03T08:00:00Z",
	}
	for k, v := range want {
		if got := label(s, k); got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if m := label(s, "message"); len(m) != DefaultMessageMax || !strings.HasSuffix(m, "…") {
		t.Errorf("message of %d bytes, want %d ending in …", len(m), DefaultMessageMax)
	}
	for i := 1; i < len(s.Labels); i++ {
		if s.Labels[i-1].Name >= s.Labels[i].Name {
			t.Errorf("labels not sorted: %v", s.Labels)
		}
	}
	if s.Samples[0].Value != 4 || s.Samples[0].Timestamp != t1.UnixMilli() {
		t.Errorf("sample %+v, want 4 @ %d", s.Samples[0], t1.UnixMilli())
	}
}

func TestPipelineRestartFromCheckpoint(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.json")
	ctx := context.Background()
	w := &recorder{}
	h := newHarness(t, file, w)
	h.p.Observe(SrcEvents, ev("a", 3, t0))
	h.p.Observe(SrcEvents, ev("gone", 1, t0))
	h.drain(ctx)

	// While the agent is down: "a" happens twice more, "new" happens, "gone"
	// expires.
	w2 := &recorder{}
	h2 := newHarness(t, file, w2)
	h2.p.Observe(SrcEvents, ev("a", 5, t1))
	h2.p.Observe(SrcEvents, ev("new", 1, t1))
	h2.p.SyncDone(SrcEvents)
	h2.drain(ctx)
	got := w2.delivered()
	if len(got) != 2 || len(got["a"]) != 1 || got["a"][0] != 5 || len(got["new"]) != 1 {
		t.Fatalf("after restart delivered %v, want a=5 and new=1 only", got)
	}
	if total := h2.total(t); total != 2+1 {
		t.Errorf("counter after restart %v, want 3 (a: 3→5, new: 1), not a recount", total)
	}
	if _, ok := h2.p.state["gone"]; ok {
		t.Errorf("expired event still in the checkpoint")
	}

	// A third start with nothing new delivers nothing.
	w3 := &recorder{}
	h3 := newHarness(t, file, w3)
	h3.p.Observe(SrcEvents, ev("a", 5, t1))
	h3.p.Observe(SrcEvents, ev("new", 1, t1))
	h3.drain(ctx)
	if len(w3.got) != 0 {
		t.Errorf("delivered again: %v", w3.delivered())
	}
}

func TestPipelineUnacknowledgedStaysQueued(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.json")
	w := &recorder{fail: []error{context.Canceled}}
	h := newHarness(t, file, w)
	h.p.Observe(SrcEvents, ev("a", 1, t0))
	h.drain(context.Background())
	if h.p.Pending() != 1 {
		t.Fatalf("pending %d after a failed write, want 1", h.p.Pending())
	}
	// A newer state while it waited replaces it: one sample, the newest.
	h.p.Observe(SrcEvents, ev("a", 2, t1))
	h.drain(context.Background())
	if got := w.delivered(); len(got["a"]) != 1 || got["a"][0] != 2 {
		t.Errorf("delivered %v, want a=2 once", got)
	}
	// Nothing acknowledged was lost and a restart does not repeat it.
	h2 := newHarness(t, file, &recorder{})
	h2.p.Observe(SrcEvents, ev("a", 2, t1))
	if h2.p.Pending() != 0 {
		t.Errorf("acknowledged event queued again after restart")
	}
}

func TestPipelineUndeliveredSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.json")
	h := newHarness(t, file, &recorder{fail: []error{context.Canceled}})
	h.p.Observe(SrcEvents, ev("a", 1, t0))
	h.drain(context.Background())
	// Stopped before the receiver took it: the next run delivers it.
	w := &recorder{}
	h2 := newHarness(t, file, w)
	h2.p.Observe(SrcEvents, ev("a", 1, t0))
	h2.drain(context.Background())
	if got := w.delivered(); len(got["a"]) != 1 {
		t.Errorf("delivered %v, want a once", got)
	}
	if total := h2.total(t); total != 0 {
		t.Errorf("counted again after restart: %v", total)
	}
}

func TestPipelineRefusedIsNotRetried(t *testing.T) {
	w := &recorder{fail: []error{permanent{}}}
	h := newHarness(t, "", w)
	h.p.Observe(SrcEvents, ev("a", 1, t0))
	h.drain(context.Background())
	h.p.Observe(SrcEvents, ev("a", 1, t0))
	h.drain(context.Background())
	if len(w.got) != 0 || h.p.Pending() != 0 || value(t, h.reg, "kubetopo_events_refused_total", nil) != 1 {
		t.Errorf("refused batch: got %v, pending %d, refused %v", w.delivered(), h.p.Pending(), value(t, h.reg, "kubetopo_events_refused_total", nil))
	}
}

func TestPipelineForgetKeepsUndelivered(t *testing.T) {
	w := &recorder{fail: []error{errors.New("stopping")}}
	h := newHarness(t, "", w)
	h.p.Observe(SrcEvents, ev("a", 1, t0))
	h.drain(context.Background())
	h.p.Forget(SrcEvents, "a") // expired in the apiserver before delivery
	h.drain(context.Background())
	if got := w.delivered(); len(got["a"]) != 1 {
		t.Errorf("an event deleted before delivery must still be delivered: %v", got)
	}
	if _, ok := h.p.state["a"]; ok {
		t.Errorf("delivered event of a gone owner still tracked")
	}
}

func TestPipelineBadCheckpoint(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.json")
	if err := writeCheckpoint(file, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	w := &recorder{}
	h := newHarness(t, file, w)
	h.p.Observe(SrcEvents, ev("a", 1, t0))
	h.drain(context.Background())
	if len(w.got) != 1 {
		t.Errorf("with an unreadable checkpoint the pipeline starts empty and delivers")
	}
	if _, err := readCheckpoint(file + ".bad"); err == nil {
		t.Errorf("the bad checkpoint was not kept aside")
	}
}

func TestPipelineRun(t *testing.T) {
	w := &recorder{}
	h := newHarness(t, "", w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.p.Run(ctx) }()
	h.p.Observe(SrcEvents, ev("a", 1, t0))
	deadline := time.Now().Add(10 * time.Second)
	for len(w.delivered()["a"]) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not delivered within 10s")
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// poisonWriter refuses for good any batch holding the event "poison", as a
// Prometheus refuses a whole request for one sample that is too old.
type poisonWriter struct{ recorder }

func (w *poisonWriter) Write(ctx context.Context, s []prompb.TimeSeries) error {
	for _, ts := range s {
		if label(ts, "uid") == "poison" {
			return permanent{}
		}
	}
	return w.recorder.Write(ctx, s)
}

func TestPipelineRefusalIsolatesTheEvent(t *testing.T) {
	w := &poisonWriter{}
	reg := prometheus.NewRegistry()
	p, err := New(Options{Cluster: "c", Writer: w, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{p: p, reg: reg}
	for _, uid := range []string{"a", "b", "poison", "c", "d", "e"} {
		h.p.Observe(SrcEvents, ev(uid, 1, t0))
	}
	h.drain(context.Background())
	got := w.delivered()
	if len(got) != 5 || len(got["poison"]) != 0 {
		t.Errorf("delivered %v, want every event but poison", got)
	}
	if r, d := value(t, reg, "kubetopo_events_refused_total", nil), value(t, reg, "kubetopo_events_delivered_total", nil); r != 1 || d != 5 {
		t.Errorf("refused %v delivered %v, want 1 and 5", r, d)
	}
	if h.p.Pending() != 0 {
		t.Errorf("%d pending", h.p.Pending())
	}
}

type unauthorized struct{}

func (unauthorized) Error() string   { return "401 Unauthorized" }
func (unauthorized) Permanent() bool { return true }
func (unauthorized) HTTPStatus() int { return 401 }

// A wrong key is not split per event, not retried by this run, and not
// recorded as delivered: the next run (the key fixed) delivers.
func TestPipelineUnauthorizedNextRunDelivers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.json")
	w := &recorder{fail: []error{unauthorized{}}}
	h := newHarness(t, file, w)
	for _, uid := range []string{"a", "b", "c"} {
		h.p.Observe(SrcEvents, ev(uid, 1, t0))
	}
	h.drain(context.Background())
	h.p.Observe(SrcEvents, ev("a", 1, t0)) // a relist
	h.drain(context.Background())
	if len(w.got) != 0 || len(w.fail) != 0 || h.p.Pending() != 0 {
		t.Fatalf("got %v, %d failures left, %d pending", w.delivered(), len(w.fail), h.p.Pending())
	}
	h.p.flush()
	w2 := &recorder{}
	h2 := newHarness(t, file, w2)
	for _, uid := range []string{"a", "b", "c"} {
		h2.p.Observe(SrcEvents, ev(uid, 1, t0))
	}
	h2.drain(context.Background())
	if got := w2.delivered(); len(got) != 3 {
		t.Errorf("next run delivered %v, want a, b, c", got)
	}
}
