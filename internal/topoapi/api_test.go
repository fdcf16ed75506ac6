package topoapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/kubetopo/kubetopo/internal/mapping"
	"github.com/kubetopo/kubetopo/internal/promquery"
	"github.com/kubetopo/kubetopo/internal/receiver"
)

const (
	shop     = "urn:kubernetes:/test:namespace/shop"
	frontend = "urn:kubernetes:/test:shop:deployment/frontend"
	rsNew    = "urn:kubernetes:/test:shop:replicaset/frontend-6d4cf56db6"
	rsOld    = "urn:kubernetes:/test:shop:replicaset/frontend-5f7b9c8d7"
	podA     = "urn:kubernetes:/test:shop:pod/frontend-6d4cf56db6-abcde"
	podF     = "urn:kubernetes:/test:shop:pod/frontend-6d4cf56db6-fghij"
)

// scenario returns the series of testdata/scenario.prom (the cluster agent's
// golden output for its test scenario, see testdata/README.md) plus
// kube-state-metrics-shaped health inputs: frontend wants 2 replicas and has
// 1 ready; pod fghij is not ready, its container crash-loops.
func scenario(t testing.TB) []labels.Labels {
	t.Helper()
	b, err := os.ReadFile("testdata/scenario.prom")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, []byte(`kube_deployment_spec_replicas{cluster="test",namespace="shop",deployment="frontend"} 2
kube_deployment_status_replicas_ready{cluster="test",namespace="shop",deployment="frontend"} 1
kube_replicaset_spec_replicas{cluster="test",namespace="shop",replicaset="frontend-6d4cf56db6"} 2
kube_replicaset_status_ready_replicas{cluster="test",namespace="shop",replicaset="frontend-6d4cf56db6"} 1
kube_pod_status_phase{cluster="test",namespace="shop",pod="frontend-6d4cf56db6-abcde",phase="Running"} 1
kube_pod_status_ready{cluster="test",namespace="shop",pod="frontend-6d4cf56db6-abcde",condition="true"} 1
kube_pod_status_phase{cluster="test",namespace="shop",pod="frontend-6d4cf56db6-fghij",phase="Running"} 1
kube_pod_status_ready{cluster="test",namespace="shop",pod="frontend-6d4cf56db6-fghij",condition="false"} 1
kube_pod_container_status_waiting_reason{cluster="test",namespace="shop",pod="frontend-6d4cf56db6-fghij",container="frontend",reason="CrashLoopBackOff"} 1
container_cpu_usage_seconds_total{cluster="test",namespace="shop",pod="frontend-6d4cf56db6-abcde",container="frontend",id="/x"} 12.5
kube_event_exporter_thing{cluster="test"} 1
`)...)
	p := textparse.NewPromParser(b, labels.NewSymbolTable(), false)
	var out []labels.Labels
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if e == textparse.EntrySeries {
			var ls labels.Labels
			p.Labels(&ls)
			out = append(out, ls)
		}
	}
}

func newReceiver(t testing.TB, downstream *promquery.Client) *receiver.Receiver {
	t.Helper()
	cfg, err := mapping.Parse(mapping.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	r, err := receiver.New(receiver.Options{Mapper: mapping.New(cfg, mapping.Options{}), Downstream: downstream})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func load(t testing.TB, r *receiver.Receiver, series []labels.Labels) {
	now := time.Now().UnixMilli()
	for _, ls := range series {
		if strings.HasPrefix(ls.Get("__name__"), "kubetopo_") {
			r.Observe(ls, now, 1)
		}
	}
	for _, ls := range series { // after the topology, as a steady stream would be
		if !strings.HasPrefix(ls.Get("__name__"), "kubetopo_") {
			r.Observe(ls, now, 1)
		}
	}
	r.Tick()
}

type client struct {
	t   *testing.T
	url string
	key string
}

func (c client) get(path string, out any) int {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.url+path, nil)
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		var env struct {
			Status string          `json:"status"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &env); err != nil || env.Status != "success" {
			c.t.Fatalf("GET %s: %s %v", path, b, err)
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			c.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// requireKey is a stand-in for the write path's auth middleware.
func requireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "k" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func serve(t *testing.T, src Source) client {
	mux := http.NewServeMux()
	for p, h := range New(Options{Source: src, Auth: requireKey}).Routes() {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return client{t: t, url: srv.URL, key: "k"}
}

type listResp struct {
	Time       time.Time `json:"time"`
	Live       bool      `json:"live"`
	Components []Summary `json:"components"`
}

type actionResp struct {
	ActionResult
	Relations []struct {
		Type   string `json:"type"`
		Source string `json:"source_urn"`
		Target string `json:"target_urn"`
	} `json:"relations"`
}

func urns(cs []Summary) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.URN)
	}
	sort.Strings(out)
	return out
}

func TestAPI(t *testing.T) {
	r := newReceiver(t, nil)
	load(t, r, scenario(t))
	c := serve(t, r)

	t.Run("auth wraps every route", func(t *testing.T) {
		noKey := client{t: t, url: c.url}
		for _, p := range []string{Prefix, Prefix + "/" + url.PathEscape(frontend), Prefix + "/" + frontend + "/actions/pods"} {
			if code := noKey.get(p, nil); code != http.StatusUnauthorized {
				t.Errorf("GET %s without key: %d", p, code)
			}
		}
	})

	t.Run("list filters", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  int
		}{
			{"", 82},
			{"?cluster=test&type=deployment", 2},
			{"?cluster=other", 0},
			{"?type=pod&namespace=shop", 4},
			{"?view=namespaces", 2},
			{"?view=workload-controllers", 12},
			{"?view=infrastructure", 9},
			{"?view=applications&namespace=shop", 4 + 6 + 7 + 1 + 1}, // pods, containers, services, external-service, ingress
			{"?type=pod&label=app=frontend", 2},
			{"?type=pod&label=app=frontend&label=pod_template_hash=6d4cf56db6", 2},
			{"?state=CRITICAL", 0},
		} {
			var l listResp
			if code := c.get(Prefix+tc.query, &l); code != 200 {
				t.Fatalf("%s: status %d", tc.query, code)
			}
			if tc.query == "?state=CRITICAL" {
				// health: fghij's container crash-loops; the pod, its
				// ReplicaSet, the Deployment, the namespace and the Services
				// exposing it are CRITICAL by propagation.
				got := strings.Join(urns(l.Components), "\n")
				for _, u := range []string{podF + ":container/frontend", podF, rsNew, frontend, shop} {
					if !strings.Contains(got, u) {
						t.Errorf("state=CRITICAL lacks %s:\n%s", u, got)
					}
				}
				if strings.Contains(got, podA+"\n") {
					t.Errorf("healthy pod listed as CRITICAL")
				}
				continue
			}
			if len(l.Components) != tc.want {
				t.Errorf("%s: %d components, want %d: %v", tc.query, len(l.Components), tc.want, urns(l.Components))
			}
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, p := range []string{
			Prefix + "?view=nope", Prefix + "?label=novalue", Prefix + "?state=GREEN", Prefix + "?time=yesterday",
			Prefix + "/" + frontend + "/actions/configuration-and-storage", // not offered for deployments
			Prefix + "/" + frontend + "/actions/dependencies?depth=7",
			Prefix + "/" + frontend + "/actions/dependencies?direction=sideways",
		} {
			if code := c.get(p, nil); code != http.StatusBadRequest {
				t.Errorf("GET %s: %d, want 400", p, code)
			}
		}
		if code := c.get(Prefix+"/urn:kubernetes:/test:shop:pod/nope", nil); code != http.StatusNotFound {
			t.Errorf("unknown component: %d, want 404", code)
		}
		if code := c.get(Prefix+"?time=1700000000", nil); code != http.StatusServiceUnavailable {
			t.Errorf("time travel without downstream: %d, want 503", code)
		}
	})

	t.Run("component detail", func(t *testing.T) {
		for _, path := range []string{Prefix + "/" + url.PathEscape(podF), Prefix + "/" + podF} {
			var d struct {
				Component struct{ URN, Type string }
				Health    struct {
					State  string `json:"state"`
					Own    string `json:"own_state"`
					From   string `json:"propagated_from"`
					Checks []struct{ Name, State, Reason string }
				}
				Relations struct{ Out, In []struct{ Type string } }
				Actions   []string
			}
			if code := c.get(path, &d); code != 200 {
				t.Fatalf("GET %s: %d", path, code)
			}
			if d.Component.URN != podF || d.Health.State != "CRITICAL" || d.Health.Own != "DEVIATING" || d.Health.From != podF+":container/frontend" {
				t.Errorf("pod fghij: %+v", d)
			}
			if len(d.Health.Checks) != 2 || strings.Join(d.Actions, ",") != "dependencies,configuration-and-storage" {
				t.Errorf("checks %+v, actions %v", d.Health.Checks, d.Actions)
			}
			if len(d.Relations.In) == 0 || len(d.Relations.Out) == 0 {
				t.Errorf("relations %+v", d.Relations)
			}
		}
		var d struct {
			Streams []receiver.Stream
		}
		c.get(Prefix+"/"+podA+":container/frontend", &d)
		if len(d.Streams) != 1 || d.Streams[0].Metric != "container_cpu_usage_seconds_total" || d.Streams[0].Value != 1 || d.Streams[0].Rule != "kubelet-container" {
			t.Errorf("container streams: %+v", d.Streams)
		}
	})

	t.Run("actions", func(t *testing.T) {
		for _, tc := range []struct {
			urn, action string
			want        []string
		}{
			{frontend, "pods", []string{frontend, podA, podF, rsOld, rsNew}},
			{"urn:kubernetes:/test:platform:cronjob/nightly-report", "pods", []string{
				"urn:kubernetes:/test:platform:cronjob/nightly-report", "urn:kubernetes:/test:platform:job/nightly-report-29000000",
				"urn:kubernetes:/test:platform:job/nightly-report-29000001", "urn:kubernetes:/test:platform:pod/nightly-report-29000001-m8r4c"}},
			{podA, "configuration-and-storage", []string{
				podA, podA + ":container/frontend", podA + ":container/wait-for-cart",
				"urn:kubernetes:/test:shop:configmap/frontend-config", "urn:kubernetes:/test:shop:secret/api-token", "urn:kubernetes:/test:shop:secret/frontend-tls",
				"urn:kubernetes:/test:shop:volume/frontend-6d4cf56db6-abcde/cache", "urn:kubernetes:/test:shop:volume/frontend-6d4cf56db6-abcde/kube-api-access"}},
			{frontend, "dependencies?depth=2", []string{frontend, podA, podF, rsOld, rsNew}},
			{shop, "pods-and-services", []string{
				"urn:kubernetes:/test:shop:pod/cart-7c9d8b6f5-x2k9p", "urn:kubernetes:/test:shop:pod/debug-shell", podA, podF,
				"urn:kubernetes:/test:shop:service/cart", "urn:kubernetes:/test:shop:service/cart-headless", "urn:kubernetes:/test:shop:service/frontend",
				"urn:kubernetes:/test:shop:service/frontend-external", "urn:kubernetes:/test:shop:service/frontend-nodeport",
				"urn:kubernetes:/test:shop:service/legacy-db", "urn:kubernetes:/test:shop:service/payments", "urn:kubernetes:/test:shop:external-service/payments"}},
			{shop, "services", []string{
				"urn:kubernetes:/test:shop:service/cart", "urn:kubernetes:/test:shop:service/cart-headless", "urn:kubernetes:/test:shop:service/frontend",
				"urn:kubernetes:/test:shop:service/frontend-external", "urn:kubernetes:/test:shop:service/frontend-nodeport",
				"urn:kubernetes:/test:shop:service/legacy-db", "urn:kubernetes:/test:shop:service/payments", "urn:kubernetes:/test:shop:external-service/payments",
				"urn:kubernetes:/test:shop:ingress/storefront", "urn:endpoint:/test:203.0.113.10", "urn:endpoint:/test:lb.shop.example.com"}},
			{podA + ":container/frontend", "configuration-and-storage", []string{
				podA + ":container/frontend", "urn:kubernetes:/test:shop:configmap/frontend-config", "urn:kubernetes:/test:shop:secret/frontend-tls",
				"urn:kubernetes:/test:shop:volume/frontend-6d4cf56db6-abcde/cache", "urn:kubernetes:/test:shop:volume/frontend-6d4cf56db6-abcde/kube-api-access",
				"urn:kubernetes:/test:shop:secret/api-token"}},
			{shop, "workloads", []string{"urn:kubernetes:/test:shop:deployment/cart", frontend, "urn:kubernetes:/test:shop:replicaset/cart-7c9d8b6f5", rsOld, rsNew}},
		} {
			var res actionResp
			if code := c.get(Prefix+"/"+tc.urn+"/actions/"+tc.action, &res); code != 200 {
				t.Fatalf("%s %s: %d", tc.urn, tc.action, code)
			}
			sort.Strings(tc.want)
			if got := urns(res.Components); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s %s:\n got %s\nwant %s", tc.urn, tc.action, strings.Join(got, "\n     "), strings.Join(tc.want, "\n     "))
			}
		}
	})
}

func TestDependenciesDeep(t *testing.T) {
	r := newReceiver(t, nil)
	load(t, r, scenario(t))
	c := serve(t, r)
	var res actionResp
	c.get(Prefix+"/"+frontend+"/actions/dependencies", &res)
	got := strings.Join(urns(res.Components), "\n")
	// Six levels down from the Deployment: ReplicaSets, pods, their
	// containers, node, config, volumes, the cluster behind the node.
	for _, u := range []string{rsNew, podA, podA + ":container/frontend", "urn:kubernetes:/test:node/node-a", "urn:cluster:/kubernetes:test",
		"urn:kubernetes:/test:shop:configmap/frontend-config", "urn:kubernetes:/test:shop:secret/api-token"} {
		if !strings.Contains(got, u) {
			t.Errorf("dependencies of frontend lack %s", u)
		}
	}
	// Not a dependency: what depends on it.
	for _, u := range []string{shop, "urn:kubernetes:/test:shop:service/frontend"} {
		if strings.Contains(got, u+"\n") || strings.HasSuffix(got, u) {
			t.Errorf("dependencies of frontend include %s, which depends on it", u)
		}
	}
	var up actionResp
	c.get(Prefix+"/"+podA+"/actions/dependencies?direction=up&depth=1", &up)
	want := []string{podA, rsNew, "urn:kubernetes:/test:shop:service/frontend", "urn:kubernetes:/test:shop:service/frontend-external", "urn:kubernetes:/test:shop:service/frontend-nodeport"}
	sort.Strings(want)
	if g := urns(up.Components); strings.Join(g, ",") != strings.Join(want, ",") {
		t.Errorf("direction=up depth=1 of pod abcde:\n got %v\nwant %v", g, want)
	}
	for _, rel := range up.Relations {
		if rel.Target != podA {
			t.Errorf("depth=1 up: relation %v does not end at the pod", rel)
		}
	}
}

// fakeTSDB is an httptest stand-in for the downstream's /api/v1/query that
// answers the topology query at any time before cut with "before" and after
// with "after", recording what it was asked.
type fakeTSDB struct {
	mu            sync.Mutex
	cut           time.Time
	before, after []labels.Labels
	asked         []url.Values
}

func (f *fakeTSDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.asked = append(f.asked, r.Form)
	f.mu.Unlock()
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	var sec float64
	fmt.Sscan(r.Form.Get("time"), &sec)
	at := time.Unix(0, int64(sec*1e9))
	set := f.after
	if at.Before(f.cut) {
		set = f.before
	}
	q := r.Form.Get("query")
	type elem struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value,omitempty"`
		Values [][2]any          `json:"values,omitempty"`
	}
	resultType := "vector"
	names := map[string]bool{}
	if inner, ok := strings.CutPrefix(q, `{__name__=~"`); ok {
		for _, n := range strings.Split(strings.TrimSuffix(inner, `"}`), "|") {
			names[n] = true
		}
	} else if sel, ok := strings.CutSuffix(q, "[1h]"); ok {
		resultType = "matrix"
		names[sel] = true
	}
	res := []elem{}
	for _, ls := range set {
		if !names[ls.Get("__name__")] {
			continue
		}
		e := elem{Metric: ls.Map()}
		if resultType == "matrix" {
			e.Values = [][2]any{{sec - 10, "1"}}
		} else {
			e.Value = [2]any{sec, "1"}
		}
		res = append(res, e)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": resultType, "result": res}})
}

func TestTimeTravel(t *testing.T) {
	all := scenario(t)
	var before []labels.Labels
	for _, ls := range all {
		// Before the change: no pod fghij (nor its container, relations or
		// KSM series), and its ReplicaSet healthy.
		if strings.Contains(ls.String(), "frontend-6d4cf56db6-fghij") {
			continue
		}
		before = append(before, ls)
	}
	cut := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f := &fakeTSDB{cut: cut, before: before, after: all}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	r := newReceiver(t, &promquery.Client{URL: ts.URL})
	c := serve(t, r)

	for _, tc := range []struct {
		time string
		want []string
	}{
		{"2026-12-01T09:59:00Z", []string{frontend, podA, rsOld, rsNew}},
		{fmt.Sprint(cut.Add(-time.Minute).Unix()), []string{frontend, podA, rsOld, rsNew}},
		{"2026-12-01T10:01:00Z", []string{frontend, podA, podF, rsOld, rsNew}},
	} {
		var res actionResp
		if code := c.get(Prefix+"/"+frontend+"/actions/pods?time="+url.QueryEscape(tc.time), &res); code != 200 {
			t.Fatalf("time %s: %d", tc.time, code)
		}
		sort.Strings(tc.want)
		if got := urns(res.Components); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("pods of frontend at %s:\n got %v\nwant %v", tc.time, got, tc.want)
		}
		if res.Live {
			t.Errorf("answer at %s claims to be live", tc.time)
		}
	}
	var d struct {
		Health struct {
			State string `json:"state"`
		}
	}
	c.get(Prefix+"/"+podF+"?time=2026-12-01T10:01:00Z", &d)
	if d.Health.State != "CRITICAL" {
		t.Errorf("pod fghij after the change: %s, want CRITICAL (from the time's KSM series)", d.Health.State)
	}
	if code := c.get(Prefix+"/"+podF+"?time=2026-12-01T09:00:00Z", nil); code != http.StatusNotFound {
		t.Errorf("pod fghij before it existed: %d, want 404", code)
	}
	// What was asked: the documented queries at the requested instant.
	f.mu.Lock()
	defer f.mu.Unlock()
	var qs []string
	for _, a := range f.asked {
		if a.Get("time") == "1796119140.000" {
			qs = append(qs, a.Get("query"))
		}
	}
	if len(qs) != 6 { // two of the questions above were at 09:59:00, as RFC 3339 and as unix seconds
		t.Fatalf("%d queries at 09:59:00, want 2×3: %v", len(qs), qs)
	}
	qs = qs[:3]
	want := []string{
		`{__name__=~"kubetopo_component_info|kubetopo_component_labels|kubetopo_relation_info"}`,
		`{__name__=~"kube_deployment_spec_replicas|kube_deployment_status_replicas_ready|kube_deployment_status_replicas_available|kube_statefulset_replicas|kube_statefulset_status_replicas_ready|kube_daemonset_status_desired_number_scheduled|kube_daemonset_status_number_ready|kube_replicaset_spec_replicas|kube_replicaset_status_ready_replicas|kube_pod_status_phase|kube_pod_status_ready|kube_pod_container_status_waiting_reason|kube_pod_init_container_status_waiting_reason|kube_pod_container_status_ready|kube_node_status_condition"}`,
		`kubetopo_event[1h]`,
	}
	if strings.Join(qs, "\n") != strings.Join(want, "\n") {
		t.Errorf("queries at 09:59:00:\n%s\nwant\n%s", strings.Join(qs, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1796119140.677":           time.Unix(1796119140, 677_000_000).UTC(),
		"1796119140":               time.Unix(1796119140, 0).UTC(),
		"1796119140.5e0":           time.Unix(1796119140, 500_000_000).UTC(),
		"2026-12-01T09:59:00.123Z": time.Date(2026, 12, 1, 9, 59, 0, 123_000_000, time.UTC),
	} {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "NaN", "12.ab"} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) accepted", bad)
		}
	}
}
