//go:build integration

package receiver2

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const (
	clusterName = "e2e"
	ns          = "shop"
	goodImage   = "registry.example.com/shop/web:1.0"
	badImage    = "registry.invalid/shop/web:does-not-exist"
)

var (
	nsURN  = "urn:kubernetes:/" + clusterName + ":namespace/" + ns
	depURN = "urn:kubernetes:/" + clusterName + ":" + ns + ":deployment/web"
)

func objURN(kind, name string) string {
	return "urn:kubernetes:/" + clusterName + ":" + ns + ":" + kind + "/" + name
}

// firstPrometheusConfig: Prometheus scrapes the cluster agent, the
// kube-state-metrics stand-in and the receiver's own /metrics (so the health
// series travel the same road), and remote-writes everything to the
// receiver with the API key as StackState's agents send it (basic auth, user
// apikey).
func firstPrometheusConfig(agent, ksm, receiver, key string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  external_labels:
    cluster: %s
scrape_configs:
  - job_name: kubetopo-cluster-agent
    static_configs: [{targets: ['%s']}]
  - job_name: kube-state-metrics
    static_configs: [{targets: ['%s']}]
  - job_name: kubetopo-receiver
    static_configs: [{targets: ['%s']}]
remote_write:
  - url: http://%s/api/v1/write
    basic_auth: {username: apikey, password: %s}
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
`, clusterName, agent, ksm, receiver, receiver, key)
}

func webDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			// A rollout keeps every old pod until a new one is available:
			// a bad image leaves the Deployment with 2 ready and 1 broken pod.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1)),
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: goodImage,
					EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
				}}},
			},
		},
	}
}

// workloadOracle is what the apiserver says the "Show pods" action of the
// Deployment must answer: the Deployment, its ReplicaSets and their pods.
func workloadOracle(t *testing.T, ctx context.Context, c kubernetes.Interface) []string {
	t.Helper()
	out := []string{depURN}
	rss, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned := map[types.UID]bool{}
	for _, rs := range rss.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.Kind == "Deployment" && ref.Name == "web" {
			out = append(out, objURN("replicaset", rs.Name))
			owned[rs.UID] = true
		}
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && owned[ref.UID] {
			out = append(out, objURN("pod", p.Name))
		}
	}
	sort.Strings(out)
	return out
}

// brokenPods returns the pods of the bad image that kwok's image-pull
// stages (testdata/kwok-stages.yaml) have put in ImagePullBackOff, as a
// kubelet would.
func brokenPods(t *testing.T, ctx context.Context, c kubernetes.Interface) []string {
	t.Helper()
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var broken []string
	for _, p := range pods.Items {
		if p.Spec.Containers[0].Image != badImage || p.DeletionTimestamp != nil || len(p.Status.ContainerStatuses) != 1 {
			continue
		}
		if w := p.Status.ContainerStatuses[0].State.Waiting; w != nil && w.Reason == "ImagePullBackOff" {
			broken = append(broken, p.Name)
		}
	}
	sort.Strings(broken)
	return broken
}

func setImage(t *testing.T, ctx context.Context, c kubernetes.Interface, image string, labels map[string]string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, "deployment updated", func() (bool, string) {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		d.Spec.Template.Spec.Containers[0].Image = image
		d.Spec.Template.Labels = labels
		if _, err := c.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// healthSeries is the state the downstream Prometheus has for a component:
// the state label of its kubetopo_component_health_state series that is 1.
func healthSeries(t *testing.T, q func(string) []string, urn string) string {
	got := q(fmt.Sprintf(`kubetopo_component_health_state{urn=%q} == 1`, urn))
	return strings.Join(got, ",")
}

// settle waits until the Deployment's pods (live answer and apiserver alike,
// equal to want) and its live dependencies have stayed the same for 4
// seconds, and returns the middle of that window with the dependencies then:
// an instant whose state every scrape around it saw, so the TSDB's answer
// for it is the same as the live one.
func settle(t *testing.T, ctx context.Context, c kubernetes.Interface, a api, want []string) (time.Time, actionAnswer) {
	t.Helper()
	const window = 4 * time.Second
	var since time.Time
	var deps actionAnswer
	var last string
	restarts := 0
	testenv.Eventually(t, time.Minute, "a stable window", func() (bool, string) {
		pods, err := a.tryAction(depURN, "pods", time.Time{})
		d, err2 := a.tryAction(depURN, "dependencies", time.Time{})
		oracle := workloadOracle(t, ctx, c)
		if !same(oracle, want) {
			t.Fatalf("the apiserver's state changed while waiting for it to settle: %v, want %v", oracle, want)
		}
		if err != "" || err2 != "" || !same(pods.urns(), want) {
			// A transient difference (seen once: a pod missing from the live
			// answer for about a second) restarts the window.
			last = ""
			return false, fmt.Sprintf("live answer differs: %s%s pods %v, want %v", err, err2, pods.urns(), want)
		}
		fp := strings.Join(d.urns(), ",") + "|" + strings.Join(d.rels(), ",")
		now := time.Now()
		if fp != last {
			if last != "" {
				restarts++
			}
			last, since, deps = fp, now, d
			return false, "dependencies changed"
		}
		return now.Sub(since) >= window, "waiting for the window to pass"
	})
	if restarts > 0 {
		t.Logf("the live dependencies changed %d times before settling", restarts)
	}
	return since.Add(window / 2), deps
}

// logPods logs the pods of the namespace as the apiserver has them.
func logPods(t *testing.T, ctx context.Context, c kubernetes.Interface) {
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		var cs []string
		for _, x := range p.Status.ContainerStatuses {
			st := "running"
			if x.State.Waiting != nil {
				st = "waiting:" + x.State.Waiting.Reason
			}
			cs = append(cs, fmt.Sprintf("%s ready=%v %s", x.Name, x.Ready, st))
		}
		t.Logf("pod %s image %s phase %s %v", p.Name, p.Spec.Containers[0].Image, p.Status.Phase, cs)
	}
	evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(evs.Items, func(i, j int) bool { return evs.Items[i].CreationTimestamp.Before(&evs.Items[j].CreationTimestamp) })
	for _, e := range evs.Items {
		t.Logf("event %s %s/%s %s: %s", e.CreationTimestamp.Format(time.RFC3339), e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
	}
}

// podsEverywhere lists the pod components of the namespace as the agent
// publishes them, and as the sending and the downstream Prometheus have them.
func podsEverywhere(t *testing.T, agent string, sender, downstream *testbed.Prometheus) string {
	var b strings.Builder
	resp, err := http.Get("http://" + agent + "/metrics")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var pods []string
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, "kubetopo_component_info{") && strings.Contains(l, `type="pod"`) && strings.Contains(l, `namespace="`+ns+`"`) {
				pods = append(pods, l[strings.Index(l, "urn="):strings.Index(l, ",type=")])
			}
		}
		fmt.Fprintf(&b, "agent: %v\n", pods)
	}
	for name, p := range map[string]*testbed.Prometheus{"sender": sender, "downstream": downstream} {
		var pods []string
		for _, s := range testenv.Query(t, p, fmt.Sprintf(`kubetopo_component_info{type="pod",namespace=%q}`, ns)) {
			pods = append(pods, s.Metric["urn"])
		}
		sort.Strings(pods)
		fmt.Fprintf(&b, "%s: %v\n", name, pods)
	}
	return b.String()
}

// debugCounts describes what the receiver and the downstream hold, for
// failure messages.
func debugCounts(t *testing.T, a api, downstream *testbed.Prometheus) string {
	var l struct {
		Components []summary `json:"components"`
	}
	a.get("/api/v1/components", &l)
	types := map[string]int{}
	for _, c := range l.Components {
		types[c.Type]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "receiver components by type: %v\n", types)
	for _, q := range []string{`count by (type) (kubetopo_component_info)`, `count by (type) (kubetopo_relation_info)`, `count by (__name__) ({__name__=~"kube_.*"})`} {
		fmt.Fprintf(&b, "downstream %s:", q)
		for _, s := range testenv.Query(t, downstream, q) {
			fmt.Fprintf(&b, " %v=%g", s.Metric, s.Value)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestReceiverTopologyHealthAndTimeTravel(t *testing.T) {
	cluster := testenv.StartCluster(t, startOptions(t))
	client := testenv.Client(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	// The application: a namespace, a ConfigMap, a Deployment of 2 and its Service.
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-config"}, Data: map[string]string{"MODE": "prod"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, webDeployment(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	downstream := startPrometheus(t, "downstream", "global: {scrape_interval: 1s}\n", "--web.enable-remote-write-receiver")
	rcv := startReceiver(t, downstream.URL)
	// The agent also pushes its events to the receiver (docs/events.md).
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(rcv.key), 0o600); err != nil {
		t.Fatal(err)
	}
	agent := startAgent(t, cluster.Kubeconfig(), "--cluster.name="+clusterName,
		"--remote-write.url=http://"+rcv.addr+"/api/v1/write", "--remote-write.api-key-file="+keyFile)
	sender := startPrometheus(t, "sender", firstPrometheusConfig(agent, ksmStandIn(t, client), rcv.addr, rcv.key))
	a := api{base: "http://" + rcv.addr, key: rcv.key}
	promQ := func(q string) []string {
		var out []string
		for _, s := range testenv.Query(t, downstream, q) {
			out = append(out, s.Metric["state"])
		}
		sort.Strings(out)
		return out
	}

	t.Run("the topology API needs the API key", func(t *testing.T) {
		if code, _ := (api{base: a.base}).get("/api/v1/components", nil); code != http.StatusUnauthorized {
			t.Errorf("no key: %d, want 401", code)
		}
		if code, _ := (api{base: a.base, key: "wrong"}).get("/api/v1/components", nil); code != http.StatusUnauthorized {
			t.Errorf("wrong key: %d, want 401", code)
		}
	})

	// 1. Healthy: the pods, the Deployment and the namespace are CLEAR.
	var before []string
	testenv.Eventually(t, 90*time.Second, "the application is healthy through the API", func() (bool, string) {
		before = workloadOracle(t, ctx, client)
		ans, err := a.tryAction(depURN, "pods", time.Time{})
		if err != "" {
			return false, err
		}
		if !same(ans.urns(), before) {
			return false, fmt.Sprintf("pods of web: %v, apiserver: %v\n%s", ans.urns(), before, debugCounts(t, a, downstream))
		}
		var bad []string
		for _, c := range ans.Components {
			if c.State != "CLEAR" {
				bad = append(bad, c.URN+"="+c.State)
			}
		}
		if st, msg := a.state(nsURN); st != "CLEAR" {
			bad = append(bad, "namespace="+st+msg)
		}
		return len(bad) == 0 && len(before) == 4, fmt.Sprintf("not CLEAR: %v (oracle %v)", bad, before)
	})
	t0, depsBefore := settle(t, ctx, client, a, before)
	t.Logf("healthy at %s: pods action %v; dependencies: %d components, %d relations", t0.Format(time.RFC3339Nano), before, len(depsBefore.Components), len(depsBefore.Relations))
	for _, want := range []string{objURN("configmap", "web-config"), "urn:cluster:/kubernetes:" + clusterName} {
		if !strings.Contains(strings.Join(depsBefore.urns(), "\n"), want) {
			t.Errorf("dependencies of web lack %s: %v", want, depsBefore.urns())
		}
	}
	testenv.Eventually(t, time.Minute, "the health series reach the downstream TSDB", func() (bool, string) {
		d, n := healthSeries(t, promQ, depURN), healthSeries(t, promQ, nsURN)
		return d == "CLEAR" && n == "CLEAR", "deployment " + d + ", namespace " + n
	})

	// 2. Break it: a new image that cannot be pulled. The label makes kwok
	// play the kubelet: ErrImagePull, then ImagePullBackOff, never Ready.
	setImage(t, ctx, client, badImage, map[string]string{"app": "web", "kubetopo.test/image": "unpullable"})
	var broken []string
	testenv.Eventually(t, 2*time.Minute, "the new pod fails to pull", func() (bool, string) {
		broken = brokenPods(t, ctx, client)
		return len(broken) > 0, "no pod of the new image in ImagePullBackOff yet"
	})
	badPod := objURN("pod", broken[0])
	testenv.Eventually(t, 2*time.Minute, "the broken pod, its container, the Deployment and the namespace turn CRITICAL or DEVIATING through the API", func() (bool, string) {
		var msgs []string
		ok := true
		// The new ReplicaSet has 0 of 1 ready (CRITICAL); the Deployment's own
		// check sees its 2 old pods ready (CLEAR), its propagated state is
		// the ReplicaSet's.
		for urn, want := range map[string]string{badPod: "CRITICAL", badPod + ":container/web": "CRITICAL", depURN: "CRITICAL", nsURN: "CRITICAL"} {
			st, msg := a.state(urn)
			if !strings.Contains("|"+want+"|", "|"+st+"|") || st == "" {
				ok = false
			}
			msgs = append(msgs, urn+"="+st+msg)
		}
		return ok, strings.Join(msgs, "\n")
	})
	testenv.Eventually(t, time.Minute, "… and as series in the downstream TSDB", func() (bool, string) {
		p, d, n := healthSeries(t, promQ, badPod), healthSeries(t, promQ, depURN), healthSeries(t, promQ, nsURN)
		ok := p == "CRITICAL" && d == "CRITICAL" && n == "CRITICAL"
		return ok, fmt.Sprintf("pod %s, deployment %s, namespace %s", p, d, n)
	})
	testenv.Eventually(t, time.Minute, "the pod's events, delivered by the agent, listed with it", func() (bool, string) {
		var d struct {
			Events []struct {
				UID, Reason, Category, Type string
				Count                       int
			}
		}
		if code, body := a.get("/api/v1/components/"+badPod, &d); code != 200 {
			return false, body
		}
		seen := map[string]string{}
		uids := map[string]bool{}
		for _, e := range d.Events {
			if uids[e.UID] {
				return false, fmt.Sprintf("event %s listed twice: %+v", e.UID, d.Events)
			}
			uids[e.UID] = true
			seen[e.Reason] = e.Category
		}
		return seen["Failed"] == "Alerts" && seen["BackOff"] == "Activities", fmt.Sprintf("%+v", d.Events)
	})
	var during []string
	testenv.Eventually(t, time.Minute, "the pods action shows the new ReplicaSet and the broken pod", func() (bool, string) {
		during = workloadOracle(t, ctx, client)
		ans, err := a.tryAction(depURN, "pods", time.Time{})
		return err == "" && same(ans.urns(), during), fmt.Sprintf("%s got %v\nwant %v", err, ans.urns(), during)
	})
	t1, depsDuring := settle(t, ctx, client, a, during)
	t.Logf("broken at %s: pods %v", t1.Format(time.RFC3339Nano), during)
	logPods(t, ctx, client)

	// 3. Fix it: back to the image that works; the controller scales the old
	// ReplicaSet back and deletes the broken pod.
	setImage(t, ctx, client, goodImage, map[string]string{"app": "web"})
	var after []string
	testenv.Eventually(t, 2*time.Minute, "the broken pod is gone from the apiserver", func() (bool, string) {
		after = workloadOracle(t, ctx, client)
		return !strings.Contains(strings.Join(after, "\n"), badPod), fmt.Sprint(after)
	})
	testenv.Eventually(t, 2*time.Minute, "everything clears through the API", func() (bool, string) {
		var msgs []string
		ok := true
		for _, urn := range []string{depURN, nsURN} {
			st, msg := a.state(urn)
			ok = ok && st == "CLEAR"
			msgs = append(msgs, urn+"="+st+msg)
		}
		if code, _ := a.get("/api/v1/components/"+badPod, nil); code != http.StatusNotFound {
			ok = false
			msgs = append(msgs, fmt.Sprintf("broken pod still a component: %d", code))
		}
		after = workloadOracle(t, ctx, client)
		ans, err := a.tryAction(depURN, "pods", time.Time{})
		if got := ans.urns(); err != "" || !same(got, after) {
			ok = false
			msgs = append(msgs, fmt.Sprintf("pods action %v, apiserver %v", got, after))
		}
		if !ok {
			msgs = append(msgs, podsEverywhere(t, agent, sender, downstream))
		}
		return ok, strings.Join(msgs, "\n")
	})
	testenv.Eventually(t, time.Minute, "… and as series", func() (bool, string) {
		d, n := healthSeries(t, promQ, depURN), healthSeries(t, promQ, nsURN)
		return d == "CLEAR" && n == "CLEAR", "deployment " + d + ", namespace " + n
	})

	// 4. Time travel: the same questions at t0 (healthy) and t1 (broken),
	// answered from the downstream TSDB, equal what the apiserver held and
	// what the receiver answered live at those times.
	t.Run("time travel", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			at   time.Time
			pods []string
			deps actionAnswer
		}{
			{"before the change", t0, before, depsBefore},
			{"while broken", t1, during, depsDuring},
		} {
			got := a.action(t, depURN, "pods", tc.at)
			if got.Live || !got.Time.Equal(tc.at.Truncate(time.Millisecond)) {
				t.Errorf("%s: answer live=%v time=%s, want a past answer at %s", tc.name, got.Live, got.Time, tc.at)
			}
			if !same(got.urns(), tc.pods) {
				t.Errorf("%s: pods of web\n got %v\nwant %v", tc.name, got.urns(), tc.pods)
			}
			deps := a.action(t, depURN, "dependencies", tc.at)
			if !same(deps.urns(), tc.deps.urns()) || !same(deps.rels(), tc.deps.rels()) {
				t.Errorf("%s: dependencies from the TSDB differ from the live answer then:\n got %v\nwant %v\n got %v\nwant %v",
					tc.name, deps.urns(), tc.deps.urns(), deps.rels(), tc.deps.rels())
			}
		}
		var d struct {
			Health struct {
				State string `json:"state"`
			} `json:"health"`
			Events []struct{ Reason string }
		}
		p := fmt.Sprintf("/api/v1/components/%s?time=%s", badPod, t1.UTC().Format(time.RFC3339Nano))
		if code, body := a.get(p, &d); code != 200 || d.Health.State != "CRITICAL" {
			t.Errorf("broken pod at t1: %d %s %+v, want CRITICAL", code, body, d)
		}
		var reasons []string
		for _, e := range d.Events {
			reasons = append(reasons, e.Reason)
		}
		sort.Strings(reasons)
		if r := "," + strings.Join(reasons, ",") + ","; !strings.Contains(r, ",BackOff,") || !strings.Contains(r, ",Failed,") {
			t.Errorf("broken pod's events at t1, from the downstream: %v, want BackOff and Failed among them", reasons)
		}
		if code, _ := a.get(fmt.Sprintf("/api/v1/components/%s?time=%s", badPod, t0.UTC().Format(time.RFC3339Nano)), nil); code != http.StatusNotFound {
			t.Errorf("broken pod at t0, before it existed: %d, want 404", code)
		}
		now := a.action(t, depURN, "pods", time.Time{})
		if !same(now.urns(), after) || !now.Live {
			t.Errorf("now: %v (live %v), want %v", now.urns(), now.Live, after)
		}
	})

	t.Run("an added replica rebuilds from the downstream TSDB at once", func(t *testing.T) {
		// No sender writes to it: all it knows comes from the rebuild.
		r2 := startReceiver(t, downstream.URL)
		a2 := api{base: "http://" + r2.addr, key: r2.key}
		testenv.Eventually(t, 30*time.Second, "the new replica answers like the first", func() (bool, string) {
			ans, err := a2.tryAction(depURN, "pods", time.Time{})
			st, msg := a2.state(depURN)
			return err == "" && same(ans.urns(), after) && st == "CLEAR", fmt.Sprintf("%s pods %v, want %v; deployment %s%s", err, ans.urns(), after, st, msg)
		})
	})

	t.Run("streams and views", func(t *testing.T) {
		var d struct {
			Streams []struct {
				Metric string            `json:"metric"`
				Labels map[string]string `json:"labels"`
			} `json:"streams"`
		}
		if code, body := a.get("/api/v1/components/"+depURN, &d); code != 200 {
			t.Fatal(code, body)
		}
		var metrics []string
		for _, s := range d.Streams {
			metrics = append(metrics, s.Metric)
		}
		sort.Strings(metrics)
		// KSM's series (mapped by rule), the agent's events counter and the
		// receiver's own health series (both carrying the urn).
		for _, want := range []string{"kube_deployment_spec_replicas", "kube_deployment_status_replicas_ready", "kubetopo_component_health_state"} {
			if !strings.Contains(","+strings.Join(metrics, ",")+",", ","+want+",") {
				t.Errorf("streams of the deployment lack %s: %v", want, metrics)
			}
		}
		var l struct {
			Components []summary `json:"components"`
		}
		a.get("/api/v1/components?view=namespaces&cluster="+clusterName, &l)
		var names []string
		for _, c := range l.Components {
			names = append(names, c.URN)
		}
		if !strings.Contains(strings.Join(names, ","), nsURN) {
			t.Errorf("namespaces view: %v", names)
		}
		// The enrichment: the downstream has the forwarded KSM series with their URN.
		if got := testenv.Query(t, downstream, fmt.Sprintf(`kube_deployment_spec_replicas{urn=%q}`, depURN)); len(got) != 1 {
			t.Errorf("forwarded KSM series with urn label: %v", got)
		}
	})
}
