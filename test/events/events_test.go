//go:build integration

package events

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubetopo/kubetopo/internal/events"
	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
	"github.com/kubetopo/kubetopo/topology"
)

const (
	clusterName = "ev"
	ns          = "shop"
)

// TestEventsEndToEnd runs the agent against a cluster whose controllers and
// kwok nodes generate real events, with a real Prometheus as the remote-write
// receiver behind a counting proxy:
//
//  1. a Deployment scaled up, a Job that completes, a pod whose image cannot
//     be pulled, delivered live;
//  2. the agent stopped; the Deployment scaled again, the image pull
//     failures repeating (counts growing), a pod OOMKilled; the agent started
//     again;
//  3. the receiver refusing (503) while the Deployment scales down; then kwok
//     stopped, so the node lifecycle controller marks the nodes NotReady.
//
// Every event the apiserver holds (and every synthesised OOM event) must
// reach Prometheus once per count — no duplicates, no gaps — with its
// category and URN; kubetopo_events_total over both runs must add up to the
// events' counts (no recount after the restart).
func TestEventsEndToEnd(t *testing.T) {
	stages, err := filepath.Abs("testdata/kwok-stages.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := testenv.StartCluster(t, testbed.Options{
		Controllers: true, KwokNodes: 2,
		ControllerManagerArgs: []string{"--node-monitor-grace-period=20s", "--node-monitor-period=2s"},
		KwokArgs:              []string{"--config=" + stages, "--node-lease-duration-seconds=12"}, // renewed every 3 s: no spurious NotReady under load
	})
	client := testenv.Client(t, c)
	ctx := context.Background()

	promCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	prom, err := testbed.StartPrometheus(promCtx, testenv.BinDir(), filepath.Join(t.TempDir(), "prometheus"),
		"global:\n  scrape_interval: 1m\n", "--web.enable-remote-write-receiver")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })

	dir := t.TempDir()
	const key = "k-3f9a0c"
	keyFile := filepath.Join(dir, "api-key")
	overrides := filepath.Join(dir, "overrides.yaml")
	writeFile(t, keyFile, key+"\n")
	writeFile(t, overrides, "# the deployment controller's scaling is a change here\nScalingReplicaSet: Changes\n")
	proxy := startProxy(t, prom.URL+"/api/v1/write", key)
	args := []string{
		"--kubeconfig=" + c.Kubeconfig(), "--cluster.name=" + clusterName,
		"--remote-write.url=" + proxy.url, "--remote-write.api-key-file=" + keyFile,
		"--events.checkpoint-file=" + filepath.Join(dir, "events-checkpoint.json"),
		"--events.category-overrides=" + overrides,
		"--remote-write.topology", "--remote-write.topology-interval=2s",
	}

	// 1. Live. A second agent watches core/v1 Events (the fallback for
	// servers without events.k8s.io/v1), only counting, never restarted.
	agent := startAgent(t, args...)
	coreAgent := startAgent(t, "--kubeconfig="+c.Kubeconfig(), "--cluster.name="+clusterName, "--events.api=v1",
		"--events.category-overrides="+overrides)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createDeployment(t, client, "web", 1)
	waitReady(t, client, "web", 1)
	scale(t, client, "web", 3)
	createJob(t, client, "report")
	testenv.Eventually(t, 2*time.Minute, "job report complete", func() (bool, string) {
		j, err := client.BatchV1().Jobs(ns).Get(ctx, "report", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return j.Status.Succeeded == 1, fmt.Sprintf("%+v", j.Status)
	})
	// Its image pull fails three times, a second apart: the counts of its
	// Failed and BackOff events grow while the agent runs and, likely, while
	// it is stopped below.
	createPod(t, client, "unpullable", map[string]string{"kubetopo.test/image": "unpullable"}, "registry.invalid/kubetopo/nope:1")
	waitReady(t, client, "web", 3)
	waitEvent(t, client, "Failed", "Pod", "unpullable")
	waitDelivered(t, client, proxy)
	run1 := eventTotals(agent.scrape(t))
	agent.stop()
	firstRun := agent

	// 2. While the agent is down.
	scale(t, client, "web", 5)
	createPod(t, client, "hungry", map[string]string{"kubetopo.test/oom": "kill"}, "registry.k8s.io/pause:3.10")
	waitReady(t, client, "web", 5)
	waitEventCount(t, client, "Failed", "unpullable", 3)
	waitEventCount(t, client, "BackOff", "unpullable", 3)
	testenv.Eventually(t, time.Minute, "pod hungry OOMKilled", func() (bool, string) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, "hungry", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(events.OOMEvents(p)) == 1, fmt.Sprintf("%+v", p.Status)
	})
	agent = startAgent(t, args...)
	waitDelivered(t, client, proxy)

	// 3. The receiver away, then the nodes.
	proxy.setDown(true)
	scale(t, client, "web", 2)
	testenv.Eventually(t, time.Minute, "the agent retrying", func() (bool, string) {
		m := agent.scrape(t)
		v := metricValue(m, "kubetopo_remote_write_retries_total", `stream="events"`)
		return v >= 2, fmt.Sprintf("retries %v", v)
	})
	proxy.setDown(false)
	if err := c.StopComponent(testbed.Kwok); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, client, "NodeNotReady", "Node", "")
	want := waitDelivered(t, client, proxy)
	final := agent.scrape(t)
	run2 := eventTotals(final)

	// Exactly once per (uid, count), and every event at its current count.
	got := proxy.snapshot()
	for uid, counts := range got {
		for count, n := range counts {
			if n != 1 {
				t.Errorf("event %s count %d delivered %d times (%s)", uid, count, n, describe(want[uid]))
			}
		}
	}
	if proxy.badAuth != 0 {
		t.Errorf("%d requests without the API key", proxy.badAuth)
	}
	t.Logf("%d events (%d synthesised) delivered; %d requests answered 503 while the receiver was away, %d refused by Prometheus",
		len(want), countOOM(want), proxy.away, proxy.refused)
	if proxy.away == 0 {
		t.Errorf("the outage was not seen by the agent")
	}

	// What Prometheus holds, compared with the apiserver.
	series := queryEvents(t, prom)
	for uid, ev := range want {
		s, ok := series[uid]
		if !ok {
			t.Errorf("event %s not in Prometheus", describe(ev))
			continue
		}
		checkSeries(t, ev, s)
	}

	// Category and URN of each kind of event the scenario made.
	u := "urn:kubernetes:/" + clusterName
	for _, tc := range []struct {
		reason, kind, name, category, urn, typ string
	}{
		{"ScalingReplicaSet", "Deployment", "web", "Changes", u + ":shop:deployment/web", "Normal"},  // override
		{"SuccessfulCreate", "ReplicaSet", "web-", "Changes", u + ":shop:replicaset/web-", "Normal"}, // seed
		{"SuccessfulDelete", "ReplicaSet", "web-", "Changes", u + ":shop:replicaset/web-", "Normal"},
		{"SuccessfulCreate", "Job", "report", "Changes", u + ":shop:job/report", "Normal"},
		{"Completed", "Job", "report", "Changes", u + ":shop:job/report", "Normal"},
		{"Scheduled", "Pod", "unpullable", "Activities", u + ":shop:pod/unpullable", "Normal"},
		{"Failed", "Pod", "unpullable", "Alerts", u + ":shop:pod/unpullable", "Warning"}, // Warning fallback
		{"BackOff", "Pod", "unpullable", "Activities", u + ":shop:pod/unpullable", "Normal"},
		{"OOMKilled", "Pod", "hungry", "Alerts", u + ":shop:pod/hungry:container/pause", "Warning"}, // synthesised
		{"NodeNotReady", "Node", "kwok-", "Activities", u + ":node/kwok-", "Normal"},
	} {
		t.Run(tc.reason+"/"+tc.kind+"/"+tc.name, func(t *testing.T) {
			found := 0
			for _, s := range series {
				if s["reason"] != tc.reason || s["kind"] != tc.kind || !strings.HasPrefix(s["name"], tc.name) || s["type"] != tc.typ {
					continue
				}
				found++
				if s["category"] != tc.category || !strings.HasPrefix(s["urn"], tc.urn) || !strings.HasSuffix(s["urn"], s["name"]+suffixOf(tc.urn, tc.name)) {
					t.Errorf("category %q urn %q, want %q %q…", s["category"], s["urn"], tc.category, tc.urn)
				}
			}
			if found == 0 {
				t.Errorf("no %s %s event on %s %s* in Prometheus", tc.typ, tc.reason, tc.kind, tc.name)
			}
		})
	}

	// The repeated image pull failures arrived as one event each, count 3.
	for _, reason := range []string{"Failed", "BackOff"} {
		n := 0
		for _, sr := range series {
			if sr["reason"] == reason && sr["name"] == "unpullable" {
				n++
				t.Logf("%s on pod unpullable: counts delivered (count×times): %s", reason, countsString(got[sr["uid"]]))
				if sr["__value__"] != "3" {
					t.Errorf("%s on pod unpullable: count %s in Prometheus, want 3", reason, sr["__value__"])
				}
			}
		}
		if n != 1 {
			t.Errorf("%d %s events on pod unpullable, want 1 (of count 3)", n, reason)
		}
	}

	// The counter over both runs adds up to the events' counts.
	wantTotals := map[string]float64{}
	for _, ev := range want {
		wantTotals[totalKey(ev.URN, string(ev.Category), ev.Reason, ev.Type)] += float64(ev.Count)
	}
	for k, v := range run1 {
		run2[k] += v
	}
	core := eventTotals(coreAgent.scrape(t))
	for k, v := range wantTotals {
		if run2[k] != v {
			t.Errorf("kubetopo_events_total{%s}: run 1 + run 2 = %v, want %v", k, run2[k], v)
		}
		if core[k] != v {
			t.Errorf("kubetopo_events_total{%s} of the core/v1 agent = %v, want %v", k, core[k], v)
		}
	}
	for _, a := range []struct {
		agent *agentProc
		api   string
	}{{agent, "events.k8s.io/v1"}, {coreAgent, "v1"}} {
		if !logContains(a.agent, `msg="watching events" api=`+a.api+` `) {
			t.Errorf("agent did not log watching events through %s", a.api)
		}
	}
	checkPromtool(t, final)
	for _, a := range []*agentProc{firstRun, agent} {
		if logContains(a, key) {
			t.Errorf("the API key is in the agent's log %s", a.log)
		}
	}

	// --remote-write.topology: the topology series reach the receiver too.
	testenv.Eventually(t, time.Minute, "topology series pushed to Prometheus", func() (bool, string) {
		qctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := prom.Query(qctx, `kubetopo_component_info{cluster="ev",type="deployment",name="web",urn="urn:kubernetes:/ev:shop:deployment/web"}`)
		if err != nil {
			return false, err.Error()
		}
		return len(got) == 1, fmt.Sprintf("%v", got)
	})
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func suffixOf(urn, name string) string {
	_, after, _ := strings.Cut(urn, name)
	return after
}

// expected returns every event the apiserver holds, converted as the agent
// converts them, plus the OOM events the agent synthesises from the pods.
func expected(t *testing.T, client kubernetes.Interface) map[string]events.Event {
	t.Helper()
	ctx := context.Background()
	list, err := client.EventsV1().Events("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cat := events.NewCategorizer(map[string]events.Category{"ScalingReplicaSet": events.Changes})
	out := map[string]events.Event{}
	for i := range list.Items {
		ev := events.FromEventsV1(&list.Items[i])
		out[ev.UID] = ev
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		for _, ev := range events.OOMEvents(&pods.Items[i]) {
			out[ev.UID] = ev
		}
	}
	for uid, ev := range out {
		ev.Attach(urnsFor(), cat)
		out[uid] = ev
	}
	return out
}

// waitDelivered waits until every event the apiserver holds has reached
// Prometheus at its current count, and returns them.
func waitDelivered(t *testing.T, client kubernetes.Interface, p *countingProxy) map[string]events.Event {
	t.Helper()
	var want map[string]events.Event
	testenv.Eventually(t, 2*time.Minute, "every event delivered at its current count", func() (bool, string) {
		want = expected(t, client)
		got := p.snapshot()
		var missing []string
		for uid, ev := range want {
			if got[uid][ev.Count] == 0 {
				missing = append(missing, describe(ev)+" got counts "+countsString(got[uid]))
			}
		}
		sort.Strings(missing)
		if len(missing) > 10 {
			missing = append(missing[:10], fmt.Sprintf("... and %d more", len(missing)-10))
		}
		return len(missing) == 0, strings.Join(missing, "\n")
	})
	return want
}

func describe(ev events.Event) string {
	return fmt.Sprintf("%s %s/%s %s %s %s×%d", ev.UID, ev.Involved.Kind, ev.Involved.Name, ev.Type, ev.Reason, ev.Category, ev.Count)
}

func countOOM(m map[string]events.Event) int {
	n := 0
	for _, ev := range m {
		if ev.Reason == events.ReasonOOMKilled {
			n++
		}
	}
	return n
}

func waitEvent(t *testing.T, client kubernetes.Interface, reason, kind, namePrefix string) {
	t.Helper()
	testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("a %s event on %s %s*", reason, kind, namePrefix), func() (bool, string) {
		list, err := client.EventsV1().Events("").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range list.Items {
			if e.Reason == reason && e.Regarding.Kind == kind && strings.HasPrefix(e.Regarding.Name, namePrefix) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events, none matching", len(list.Items))
	})
}

func logContains(a *agentProc, s string) bool {
	b, err := os.ReadFile(a.log)
	return err == nil && strings.Contains(string(b), s)
}

func waitEventCount(t *testing.T, client kubernetes.Interface, reason, pod string, count int64) {
	t.Helper()
	testenv.Eventually(t, 2*time.Minute, fmt.Sprintf("%s on pod %s with count %d", reason, pod, count), func() (bool, string) {
		list, err := client.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for i := range list.Items {
			ev := events.FromEventsV1(&list.Items[i])
			if ev.Reason == reason && ev.Involved.Name == pod {
				if ev.Count == count {
					return true, ""
				}
				seen = append(seen, describe(ev))
			}
		}
		return false, strings.Join(seen, "\n")
	})
}

func checkPromtool(t *testing.T, exposition string) {
	t.Helper()
	var b strings.Builder
	keep := false
	for _, l := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(l, "# HELP ") {
			name := strings.Fields(l)[2]
			keep = strings.HasPrefix(name, "kubetopo_events_") || strings.HasPrefix(name, "kubetopo_remote_write_")
		}
		if keep && l != "" {
			b.WriteString(l + "\n")
		}
	}
	for _, fam := range []string{"kubetopo_events_total", "kubetopo_events_delivered_total", "kubetopo_remote_write_samples_sent_total"} {
		if !strings.Contains(b.String(), "\n"+fam+"{") && !strings.Contains(b.String(), "\n"+fam+" ") {
			t.Errorf("%s missing from the exposition checked by promtool", fam)
		}
	}
	cmd := exec.Command(filepath.Join(testenv.BinDir(), "promtool"), "check", "metrics")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics on the event and remote-write families: %v\n%s", err, out)
	}
}

func createDeployment(t *testing.T, client kubernetes.Interface, name string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func scale(t *testing.T, client kubernetes.Interface, name string, replicas int32) {
	t.Helper()
	ctx := context.Background()
	s, err := client.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Replicas = replicas
	if _, err := client.AppsV1().Deployments(ns).UpdateScale(ctx, name, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitReady(t *testing.T, client kubernetes.Interface, name string, replicas int32) {
	t.Helper()
	testenv.Eventually(t, 2*time.Minute, fmt.Sprintf("deployment %s with %d ready replicas", name, replicas), func() (bool, string) {
		d, err := client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return d.Status.ReadyReplicas == replicas && d.Status.Replicas == replicas, fmt.Sprintf("%+v", d.Status)
	})
}

func createJob(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "report", Image: "registry.k8s.io/pause:3.10"}},
		}}},
	}
	if _, err := client.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createPod(t *testing.T, client kubernetes.Interface, name string, labels map[string]string, image string) {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "pause", Image: image}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func urnsFor() topology.URNs { return topology.NewURNs(clusterName) }

func totalKey(urn, category, reason, typ string) string {
	return fmt.Sprintf("urn=%q,category=%q,reason=%q,type=%q", urn, category, reason, typ)
}

// eventTotals reads kubetopo_events_total from an exposition.
func eventTotals(exposition string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(exposition, "\n") {
		rest, ok := strings.CutPrefix(line, "kubetopo_events_total{")
		if !ok {
			continue
		}
		i := strings.LastIndex(rest, "} ")
		if i < 0 {
			continue
		}
		l := map[string]string{}
		for _, m := range labelPair.FindAllStringSubmatch(rest[:i], -1) {
			v, err := strconv.Unquote(`"` + m[2] + `"`)
			if err != nil {
				v = m[2]
			}
			l[m[1]] = v
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest[i+2:]), 64)
		if err != nil {
			continue
		}
		out[totalKey(l["urn"], l["category"], l["reason"], l["type"])] += v
	}
	return out
}

var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// queryEvents returns, per event UID, the labels and value of its newest
// kubetopo_event series in Prometheus ("__value__" holds the value).
func queryEvents(t *testing.T, p *testbed.Prometheus) map[string]map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	samples, err := p.Query(ctx, "last_over_time(kubetopo_event[1h])")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	vals := map[string]float64{}
	for _, s := range samples {
		uid := s.Metric["uid"]
		if old, ok := vals[uid]; ok && old >= s.Value {
			continue
		}
		vals[uid] = s.Value
		m := map[string]string{"__value__": strconv.FormatFloat(s.Value, 'f', -1, 64)}
		for k, v := range s.Metric {
			m[k] = v
		}
		out[uid] = m
	}
	return out
}

// checkSeries compares an event's series in Prometheus with the event.
func checkSeries(t *testing.T, ev events.Event, s map[string]string) {
	t.Helper()
	want := map[string]string{
		"cluster": clusterName, "urn": ev.URN, "category": string(ev.Category), "reason": ev.Reason, "type": ev.Type,
		"kind": ev.Involved.Kind, "namespace": ev.Involved.Namespace, "name": ev.Involved.Name,
		"field_path": ev.Involved.FieldPath, "source": ev.Source,
		"message":    events.Truncate(ev.Message, events.DefaultMessageMax),
		"first_seen": ev.First.UTC().Format(time.RFC3339),
		"__value__":  strconv.FormatInt(ev.Count, 10),
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("event %s: label %s = %q in Prometheus, want %q", describe(ev), k, s[k], v)
		}
	}
}
