package receiver

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/kubetopo/kubetopo/internal/mapping"
	"github.com/kubetopo/kubetopo/internal/promquery"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestReceiver(t *testing.T, reg prometheus.Registerer, clk *clock, ds *promquery.Client) *Receiver {
	t.Helper()
	cfg, err := mapping.Parse(mapping.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{Mapper: mapping.New(cfg, mapping.Options{}), Registerer: reg, Now: clk.now, MaxEvents: 3, MaxStreams: 2, Downstream: ds})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	podURN = "urn:kubernetes:/c:shop:pod/web-1"
	ctrURN = podURN + ":container/app"
	depURN = "urn:kubernetes:/c:shop:deployment/web"
	rsURN  = "urn:kubernetes:/c:shop:replicaset/web-1a"
	nsURN  = "urn:kubernetes:/c:namespace/shop"
)

func topologySeries() []labels.Labels {
	info := func(urn, typ, ns, name string) labels.Labels {
		return labels.FromStrings("__name__", "kubetopo_component_info", "cluster", "c", "urn", urn, "type", typ, "namespace", ns, "name", name)
	}
	rel := func(typ, src, tgt string) labels.Labels {
		return labels.FromStrings("__name__", "kubetopo_relation_info", "cluster", "c", "type", typ, "source_urn", src, "target_urn", tgt)
	}
	return []labels.Labels{
		info(nsURN, "namespace", "", "shop"), info(depURN, "deployment", "shop", "web"), info(rsURN, "replicaset", "shop", "web-1a"),
		info(podURN, "pod", "shop", "web-1"), info(ctrURN, "container", "shop", "app"),
		rel("encloses", nsURN, depURN), rel("controls", depURN, rsURN), rel("controls", rsURN, podURN), rel("encloses", podURN, ctrURN),
	}
}

func TestObserve(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	reg := prometheus.NewPedanticRegistry()
	r := newTestReceiver(t, reg, clk, nil)
	ms := clk.now().UnixMilli()
	for _, ls := range topologySeries() {
		if got := r.Observe(ls, ms, 1); got != "" {
			t.Errorf("topology series %s enriched with %q", ls, got)
		}
	}
	for _, tc := range []struct {
		series []string
		enrich string
	}{
		{[]string{"__name__", "up", "cluster", "c", "urn", podURN}, ""}, // has its urn already
		{[]string{"__name__", "kube_pod_status_ready", "cluster", "c", "namespace", "shop", "pod", "web-1", "condition", "true"}, podURN},
		{[]string{"__name__", "kube_pod_status_phase", "cluster", "c", "namespace", "shop", "pod", "web-1", "phase", "Running"}, podURN},
		{[]string{"__name__", "container_cpu_usage_seconds_total", "cluster", "c", "namespace", "shop", "pod", "web-1", "container", "app"}, ctrURN},
		{[]string{"__name__", "container_memory_rss", "cluster", "c", "namespace", "shop", "pod", "web-1", "container", "app"}, ctrURN},
		{[]string{"__name__", "container_memory_cache", "cluster", "c", "namespace", "shop", "pod", "web-1", "container", "app"}, ctrURN}, // over MaxStreams: still mapped
		{[]string{"__name__", "kube_pod_info", "cluster", "c", "namespace", "shop", "pod", "gone"}, ""},                                   // unknown_component
		{[]string{"__name__", "kube_pod_info", "namespace", "shop", "pod", "web-1"}, ""},                                                  // no_cluster
		{[]string{"__name__", "go_goroutines", "cluster", "c"}, ""},                                                                       // missing_labels
	} {
		if got := r.Observe(labels.FromStrings(tc.series...), ms, 1); got != tc.enrich {
			t.Errorf("Observe(%v) enriches with %q, want %q", tc.series, got, tc.enrich)
		}
	}
	for reason, want := range map[string]float64{"unknown_component": 1, "no_cluster": 1, "missing_labels": 1, "no_rule": 0} {
		if got := testutil.ToFloat64(r.m.unmapped(reason)); got != want {
			t.Errorf("unmapped{reason=%q} = %g, want %g", reason, got, want)
		}
	}
	if got := testutil.ToFloat64(r.m.mapped); got != 6 {
		t.Errorf("mapped = %g, want 6", got)
	}
	v := r.Now()
	if got := v.Streams(ctrURN); len(got) != 2 {
		t.Errorf("container streams: %d listed, want MaxStreams=2", len(got))
	}
	if got := v.Streams(podURN); len(got) != 3 {
		t.Errorf("pod streams: %v, want up, ready and phase (health inputs are listed beyond MaxStreams)", got)
	}
	if st := v.Health.Get(podURN); st.Own.String() != "CLEAR" {
		t.Errorf("pod health %+v", st)
	}

	t.Run("health series", func(t *testing.T) {
		r.Observe(labels.FromStrings("__name__", "kube_pod_status_ready", "cluster", "c", "namespace", "shop", "pod", "web-1", "condition", "true"), ms+1, math.Float64frombits(value.StaleNaN))
		r.Observe(labels.FromStrings("__name__", "kube_pod_status_ready", "cluster", "c", "namespace", "shop", "pod", "web-1", "condition", "false"), ms+1, 1)
		r.Observe(labels.FromStrings("__name__", "kube_pod_container_status_waiting_reason", "cluster", "c", "namespace", "shop", "pod", "web-1", "container", "app", "reason", "ImagePullBackOff"), ms+1, 1)
		r.Tick()
		want := `
# HELP kubetopo_component_health_state Health state of a component: 1 for its current state, 0 for the others. The propagated state: the worse of its own checks and what it depends on.
# TYPE kubetopo_component_health_state gauge
`
		for _, c := range []struct{ urn, typ string }{{ctrURN, "container"}, {depURN, "deployment"}, {nsURN, "namespace"}, {podURN, "pod"}, {rsURN, "replicaset"}} {
			for _, s := range []string{"CLEAR", "CRITICAL", "DEVIATING", "UNKNOWN"} {
				v := "0"
				if s == "CRITICAL" {
					v = "1"
				}
				want += `kubetopo_component_health_state{cluster="c",state="` + s + `",type="` + c.typ + `",urn="` + c.urn + `"} ` + v + "\n"
			}
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), HealthStateMetric); err != nil {
			t.Error(err)
		}
		if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
			t.Errorf("lint: %v %v", probs, err)
		}
	})

	t.Run("stale streams go", func(t *testing.T) {
		clk.add(6 * time.Minute)
		r.Tick()
		if got := r.Now().Streams(podURN); len(got) != 0 {
			t.Errorf("streams after the staleness window: %v", got)
		}
		if c, _ := r.Graph().Len(); c != 0 {
			t.Errorf("%d components after the staleness window", c)
		}
	})
}

func event(uid string, count float64, lastSeen int64, reason string) (labels.Labels, int64, float64) {
	return labels.FromStrings("__name__", EventSeries, "cluster", "c", "urn", podURN, "uid", uid, "category", "Alerts",
		"reason", reason, "type", "Warning", "message", "Back-off pulling image", "first_seen", "2027-01-15T08:00:00Z"), lastSeen, count
}

func TestEvents(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	r := newTestReceiver(t, nil, clk, nil)
	base := clk.now().UnixMilli()
	steps := []struct {
		uid   string
		count float64
		at    int64
		isNew bool
	}{
		{"a", 1, base, true},
		{"a", 1, base + 1000, false}, // the same occurrence, pushed again
		{"b", 1, base + 2000, true},
		{"a", 3, base + 3000, true},  // a newer count: replaces, moves to the front
		{"a", 2, base + 2500, false}, // an older count arriving late
		{"c", 1, base + 4000, true},
		{"d", 1, base + 5000, true}, // MaxEvents=3: b falls off
	}
	for i, s := range steps {
		ls, ts, v := event(s.uid, s.count, s.at, "BackOff")
		if got := r.events.observe(ls, ts, v); got != s.isNew {
			t.Errorf("step %d (%s count %g): new=%v, want %v", i, s.uid, s.count, got, s.isNew)
		}
	}
	got := r.Now().Events(podURN, 0)
	var order []string
	for _, e := range got {
		order = append(order, e.UID)
	}
	if strings.Join(order, ",") != "d,c,a" {
		t.Fatalf("events newest first: %v, want d,c,a", order)
	}
	if a := got[2]; a.Count != 3 || a.LastSeen.UnixMilli() != base+3000 || a.FirstSeen.Format(time.RFC3339) != "2027-01-15T08:00:00Z" || a.Message != "Back-off pulling image" {
		t.Errorf("event a: %+v", a)
	}
	if l := r.Now().Events(podURN, 2); len(l) != 2 {
		t.Errorf("limit 2: %d events", len(l))
	}
	clk.add(2 * time.Hour)
	r.Tick()
	if l := r.Now().Events(podURN, 0); len(l) != 0 {
		t.Errorf("events kept past their retention: %v", l)
	}
}

// TestRebuild: a new replica loads the topology, health inputs and events
// from the downstream's query API (an httptest stand-in here).
func TestRebuild(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		q := req.Form.Get("query")
		asked = append(asked, q)
		type elem struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value,omitempty"`
			Values [][]any           `json:"values,omitempty"`
		}
		res, typ := []elem{}, "vector"
		switch q {
		case topologyQuery:
			for _, ls := range topologySeries() {
				res = append(res, elem{Metric: ls.Map(), Value: []any{1_800_000_000, "1"}})
			}
		case inputsQuery:
			res = append(res, elem{Metric: map[string]string{"__name__": "kube_deployment_spec_replicas", "cluster": "c", "namespace": "shop", "deployment": "web"}, Value: []any{1_800_000_000, "2"}},
				elem{Metric: map[string]string{"__name__": "kube_deployment_status_replicas_ready", "cluster": "c", "namespace": "shop", "deployment": "web"}, Value: []any{1_800_000_000, "0"}})
		case eventsQuery:
			typ = "matrix"
			ls, _, _ := event("e1", 1, 0, "Failed")
			res = append(res, elem{Metric: ls.Map(), Values: [][]any{{1_799_999_000.5, "1"}, {1_799_999_990.25, "4"}}})
			// The same event (uid) with an older message: another series.
			old := ls.Map()
			old["message"] = "Back-off pulling image (earlier wording)"
			res = append(res, elem{Metric: old, Values: [][]any{{1_799_998_000, "2"}}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": typ, "result": res}})
	}))
	defer srv.Close()
	r := newTestReceiver(t, nil, clk, &promquery.Client{URL: srv.URL})
	if err := r.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 3 {
		t.Errorf("asked %v", asked)
	}
	asked = nil
	v := r.Now()
	if c, rel := v.Graph.Len(); c != 5 || rel != 4 {
		t.Errorf("rebuilt %d components %d relations, want 5 4", c, rel)
	}
	if h := v.Health.Get(depURN); h.State.String() != "CRITICAL" {
		t.Errorf("deployment with 0 of 2 ready after rebuild: %+v", h)
	}
	if h := v.Health.Get(nsURN); h.State.String() != "CRITICAL" {
		t.Errorf("namespace: %+v", h)
	}
	evs := v.Events(podURN, 0)
	if len(evs) != 1 || evs[0].Count != 4 || evs[0].LastSeen.UnixMilli() != 1_799_999_990_250 || evs[0].Reason != "Failed" {
		t.Errorf("rebuilt events: %+v", evs)
	}
	past, err := r.At(context.Background(), clk.now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if evs := past.Events(podURN, 0); len(evs) != 1 || evs[0].Count != 4 {
		t.Errorf("events at a past time: %+v, want the one event with its highest count", evs)
	}
	if h := past.Health.Get(depURN); h.State.String() != "CRITICAL" || past.Live {
		t.Errorf("past view: live=%v deployment %+v", past.Live, h)
	}
}

// BenchmarkObserve is the per-series cost a write pays for mapping, the
// topology check and the stream index: 12-label cAdvisor-shaped series of
// known containers, already seen (the steady state).
func BenchmarkObserve(b *testing.B) {
	cfg, _ := mapping.Parse(mapping.DefaultRules())
	r, _ := New(Options{Mapper: mapping.New(cfg, mapping.Options{})})
	now := time.Now().UnixMilli()
	var series []labels.Labels
	for p := 0; p < 100; p++ {
		pod := "web-" + string(rune('a'+p/26)) + string(rune('a'+p%26))
		pu := "urn:kubernetes:/c:shop:pod/" + pod
		r.Observe(labels.FromStrings("__name__", "kubetopo_component_info", "cluster", "c", "urn", pu+":container/app", "type", "container", "namespace", "shop", "name", "app"), now, 1)
		for _, m := range []string{"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_memory_rss", "container_network_receive_bytes_total"} {
			series = append(series, labels.FromStrings("__name__", m, "cluster", "c", "namespace", "shop", "pod", pod, "container", "app",
				"id", "/kubepods/burstable/pod"+pod+"/0123456789abcdef", "image", "registry.example.com/web:1.2.3", "name", "k8s_app_"+pod,
				"instance", "10.0.0.1:10250", "job", "kubelet", "metrics_path", "/metrics/cadvisor", "node", "node-1"))
		}
	}
	for _, ls := range series {
		r.Observe(ls, now, 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r.Observe(series[i%len(series)], now, float64(i)) == "" {
			b.Fatal("not mapped")
		}
	}
}

func TestPreferEnriched(t *testing.T) {
	plain := labels.FromStrings("__name__", "kube_deployment_status_replicas_ready", "cluster", "c", "namespace", "shop", "deployment", "web")
	enriched := labels.NewBuilder(plain).Set("urn", depURN).Labels()
	other := labels.FromStrings("__name__", "kube_deployment_spec_replicas", "cluster", "c", "namespace", "shop", "deployment", "web")
	got := preferEnriched([]promquery.Sample{{Labels: plain, V: 0}, {Labels: enriched, V: 2}, {Labels: other, V: 2}})
	if len(got) != 2 || !labels.Equal(got[0].Labels, enriched) || !labels.Equal(got[1].Labels, other) {
		t.Errorf("preferEnriched = %v", got)
	}
}
