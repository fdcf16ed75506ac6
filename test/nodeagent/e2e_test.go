//go:build integration

package nodeagent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubetopo/kubetopo/internal/standin"
	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const (
	cluster  = "e2e"
	node     = "kwok-node-0" // the node the node agent runs for
	other    = "kwok-node-1"
	testdata = "../../testdata/fixtures/"
)

// fixturePods are the (namespace, pod) pairs of a recorded kubelet
// exposition, sorted.
func fixturePods(t *testing.T, file string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(testdata + file)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	out := map[string][]string{}
	for _, m := range regexp.MustCompile(`namespace="([^"]+)",pod="([^"]+)"`).FindAllStringSubmatch(string(b), -1) {
		if k := m[1] + "/" + m[2]; !seen[k] {
			seen[k] = true
			out[m[1]] = append(out[m[1]], m[2])
		}
	}
	for _, pods := range out {
		sort.Strings(pods)
	}
	return out
}

func pinnedPodSpec(nodeName string) corev1.PodSpec {
	return corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{
		{Name: "app", Image: "registry.example/app:1"},
		{Name: "sidecar", Image: "registry.example/sidecar:1"},
	}}
}

func labelled(app string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Labels: map[string]string{"app": app}}
}

func ptr[T any](v T) *T { return &v }

// applyWorkloads creates what the rewritten fixtures will describe: the
// recorded node's 4 boutique pods become Deployment shop's 4 pods, its 3
// platform pods Deployment ops's 3, all on `node`; plus a StatefulSet, a
// DaemonSet, a Service, a ConfigMap and a Secret for the KSM kinds.
func applyWorkloads(t *testing.T, ctx context.Context, c kubernetes.Interface) {
	t.Helper()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"e2e-shop", "e2e-ops", "monitoring"} {
		must(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	}
	deploy := func(ns, name string, replicas int32) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: appsv1.DeploymentSpec{
			Replicas: ptr(replicas), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: labelled(name), Spec: pinnedPodSpec(node)},
		}}
	}
	must(c.AppsV1().Deployments("e2e-shop").Create(ctx, deploy("e2e-shop", "shop", 4), metav1.CreateOptions{}))
	must(c.AppsV1().Deployments("e2e-ops").Create(ctx, deploy("e2e-ops", "ops", 3), metav1.CreateOptions{}))
	must(c.CoreV1().Services("e2e-shop").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "e2e-shop"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "shop"}, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}))
	must(c.AppsV1().StatefulSets("e2e-ops").Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "e2e-ops"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(1)), ServiceName: "db", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: labelled("db"), Spec: pinnedPodSpec("")}}}, metav1.CreateOptions{}))
	must(c.AppsV1().DaemonSets("e2e-ops").Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "e2e-ops"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: labelled("agent"), Spec: pinnedPodSpec("")}}}, metav1.CreateOptions{}))
	must(c.CoreV1().ConfigMaps("e2e-ops").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ops-config", Namespace: "e2e-ops"}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{}))
	must(c.CoreV1().Secrets("e2e-ops").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ops-secret", Namespace: "e2e-ops"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}))
}

// ksmPod is a kube-state-metrics pod whose metrics port is a stand-in's.
func ksmPod(name, nodeName string, port int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "monitoring", Labels: map[string]string{"app.kubernetes.io/name": "kube-state-metrics"}},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{
			Name: "kube-state-metrics", Image: "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0",
			Ports: []corev1.ContainerPort{{Name: "http-metrics", ContainerPort: int32(port)}},
		}}},
	}
}

// runningPods returns the names of the Running pods matching selector, sorted.
func runningPods(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, selector, onNode string) []string {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		if p.Status.Phase == corev1.PodRunning && (onNode == "" || p.Spec.NodeName == onNode) {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

func waitRunning(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, selector, onNode string, n int) []string {
	t.Helper()
	var pods []string
	testenv.Eventually(t, 2*time.Minute, fmt.Sprintf("%d running pods %s in %s", n, selector, ns), func() (bool, string) {
		pods = runningPods(t, ctx, c, ns, selector, onNode)
		return len(pods) == n, fmt.Sprintf("%v", pods)
	})
	return pods
}

func zip(from, to []string) map[string]string {
	m := map[string]string{}
	for i := range from {
		m[from[i]] = to[i]
	}
	return m
}

func TestNodeAgentEndToEnd(t *testing.T) {
	tb := testenv.StartCluster(t, testbed.Options{Controllers: true, KwokNodes: 3})
	client := testenv.Client(t, tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	applyWorkloads(t, ctx, client)

	recorded := fixturePods(t, "kubelet-v1.33.13-metrics-resource.prom")
	if len(recorded["boutique"]) != 4 || len(recorded["platform"]) != 3 {
		t.Fatalf("the kubelet recording's pods changed: %v", recorded)
	}
	shop := waitRunning(t, ctx, client, "e2e-shop", "app=shop", node, 4)
	ops := waitRunning(t, ctx, client, "e2e-ops", "app=ops", node, 3)
	waitRunning(t, ctx, client, "e2e-ops", "app=db", "", 1)
	rsList, err := client.AppsV1().ReplicaSets("e2e-shop").List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
	if err != nil || len(rsList.Items) != 1 {
		t.Fatalf("ReplicaSets of shop: %v %v", rsList, err)
	}

	// The recording's objects → this cluster's: one-to-one, so no two
	// recorded series become one; series of objects without a counterpart
	// are dropped (Required), so every URN must exist.
	pods := zip(recorded["boutique"], shop)
	for k, v := range zip(recorded["platform"], ops) {
		pods[k] = v
	}
	identity := func(names ...string) map[string]string {
		m := map[string]string{}
		for _, n := range names {
			m[n] = n
		}
		return m
	}
	namespaces := identity("default", "kube-system", "kube-public", "kube-node-lease")
	namespaces["boutique"], namespaces["platform"] = "e2e-shop", "e2e-ops"
	rw := standin.Rewriter{
		Labels: map[string]map[string]string{
			"namespace":   namespaces,
			"pod":         pods,
			"container":   {"server": "app", "agent": "app", "postgres": "app", "report": "app", "metrics-exporter": "sidecar"},
			"node":        identity("kwok-node-0", "kwok-node-1", "kwok-node-2"),
			"deployment":  {"cartservice": "shop"},
			"replicaset":  {"cartservice-6dd65d7d7d": rsList.Items[0].Name},
			"service":     {"cartservice": "shop", "kubernetes": "kubernetes"},
			"statefulset": {"postgres": "db"},
			"daemonset":   {"log-agent": "agent"},
			"configmap":   {"postgres-config": "ops-config", "kube-root-ca.crt": "kube-root-ca.crt"},
			"secret":      {"postgres-credentials": "ops-secret"},
		},
		Required: []string{"namespace", "pod", "container", "node", "deployment", "replicaset", "statefulset", "daemonset",
			"job_name", "cronjob", "service", "configmap", "secret", "persistentvolumeclaim", "persistentvolume", "ingress", "endpoint"},
		// The recordings' sample timestamps (cAdvisor, kubelet) as of now, as
		// a live kubelet's would be: Prometheus rejects hours-old samples.
		TimestampsAt: time.Now(),
	}
	rewrite := func(file string) []byte {
		b, err := os.ReadFile(testdata + file)
		if err != nil {
			t.Fatal(err)
		}
		out, err := rw.Rewrite(b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	kubeletPages := map[string][]byte{
		"/metrics":          rewrite("kubelet-v1.33.13-metrics.prom"),
		"/metrics/cadvisor": rewrite("cadvisor-v0.52.1.prom"),
		"/metrics/resource": rewrite("kubelet-v1.33.13-metrics-resource.prom"),
		"/metrics/probes":   rewrite("kubelet-v1.33.13-metrics-probes.prom"),
	}
	ksmPage := rewrite("kube-state-metrics-v2.20.0.prom")

	const token = "e2e-node-agent-token"
	kubelet, err := standin.Start(standin.Options{Pages: kubeletPages, TLS: true, BearerToken: token})
	if err != nil {
		t.Fatal(err)
	}
	defer kubelet.Close()
	ksm, err := standin.Start(standin.Options{Pages: map[string][]byte{"/metrics": ksmPage}})
	if err != nil {
		t.Fatal(err)
	}
	defer ksm.Close()
	// A kube-state-metrics pod on another node: the agent must not scrape it.
	elsewhere, err := standin.Start(standin.Options{Pages: map[string][]byte{"/metrics": ksmPage}})
	if err != nil {
		t.Fatal(err)
	}
	defer elsewhere.Close()
	_, ksmPort := hostPort(t, ksm.URL)
	_, elsewherePort := hostPort(t, elsewhere.URL)
	for _, p := range []*corev1.Pod{ksmPod("kube-state-metrics-0", node, ksmPort), ksmPod("kube-state-metrics-1", other, elsewherePort)} {
		if _, err := client.CoreV1().Pods("monitoring").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitRunning(t, ctx, client, "monitoring", "app.kubernetes.io/name=kube-state-metrics", "", 2)

	dir := t.TempDir()
	tokenFile, caFile := filepath.Join(dir, "token"), filepath.Join(dir, "kubelet-ca.crt")
	for f, b := range map[string][]byte{tokenFile: []byte(token + "\n"), caFile: kubelet.CertPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kubeletHost, kubeletPort := hostPort(t, kubelet.URL)
	// A real Prometheus scrapes both agents and also receives what the node
	// agent pushes, through the real receiver.
	naAddr := testenv.FreeAddr(t)
	ca := startBinary(t, clusterAgent, "--kubeconfig="+tb.Kubeconfig(), "--cluster.name="+cluster)
	prom, err := testbed.StartPrometheus(ctx, testenv.BinDir(), filepath.Join(t.TempDir(), "prometheus"), fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: kubetopo-cluster-agent
    static_configs: [{targets: ['%s']}]
  - job_name: kubetopo-node-agent
    static_configs: [{targets: ['%s']}]
`, strings.TrimPrefix(ca.url, "http://"), naAddr), "--web.enable-remote-write-receiver")
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Stop()
	apiKey := filepath.Join(dir, "api-key")
	if err := os.WriteFile(apiKey, []byte("e2e-api-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rcv := startBinary(t, receiver, "--auth.api-key-file="+apiKey, "--forward.url="+prom.URL+"/api/v1/write")
	na := startBinaryAt(t, naAddr, nodeAgent, "--kubeconfig="+tb.Kubeconfig(), "--cluster.name="+cluster, "--node.name="+node,
		"--kubelet.host="+kubeletHost, "--kubelet.port="+strconv.Itoa(kubeletPort),
		"--kubelet.token-file="+tokenFile, "--kubelet.ca-file="+caFile,
		"--kube-state-metrics.host-override=127.0.0.1", "--scrape.interval=1s",
		"--remote-write.url="+rcv.url+"/api/v1/write", "--remote-write.api-key-file="+apiKey)

	t.Run("every source scraped, the kubelet with its token over verified TLS", func(t *testing.T) {
		want := []string{"kubelet/metrics", "kubelet/metrics/cadvisor", "kubelet/metrics/probes", "kubelet/metrics/resource", "kube-state-metrics/monitoring/kube-state-metrics-0"}
		testenv.Eventually(t, 60*time.Second, "all sources succeed in Prometheus", func() (bool, string) {
			got := map[string]float64{}
			for _, s := range testenv.Query(t, prom, `kubetopo_scrape_source_success{job="kubetopo-node-agent"}`) {
				got[s.Metric["source"]] = s.Value
			}
			for _, w := range want {
				if got[w] != 1 {
					return false, fmt.Sprintf("%v\n%s", got, na.logTail())
				}
			}
			return len(got) == len(want), fmt.Sprintf("sources %v, want exactly %v", got, want)
		})
		if kubelet.Denied() != 0 || kubelet.Requests() == 0 {
			t.Errorf("kubelet stand-in: %d requests, %d refused", kubelet.Requests(), kubelet.Denied())
		}
		if elsewhere.Requests() != 0 {
			t.Errorf("the kube-state-metrics pod on %s was scraped %d times", other, elsewhere.Requests())
		}
	})

	t.Run("every urn on the node agent's series is a component", func(t *testing.T) {
		const sel = `{job="kubetopo-node-agent", urn!=""}`
		var n float64
		testenv.Eventually(t, 2*time.Minute, "no node-agent urn missing from kubetopo_component_info", func() (bool, string) {
			dangling := testenv.Query(t, prom, sel+` unless on (urn) kubetopo_component_info{cluster="`+cluster+`"}`)
			total := testenv.Query(t, prom, `count(`+sel+`)`)
			if len(total) == 1 {
				n = total[0].Value
			}
			if len(dangling) > 0 {
				return false, fmt.Sprintf("%d series with an unknown urn, e.g. %v", len(dangling), dangling[0].Metric)
			}
			return n > 0, "no node-agent series with a urn yet"
		})
		byType := map[string]float64{}
		for _, s := range testenv.Query(t, prom, `count by (type) (group by (urn) (`+sel+`) * on (urn) group_left (type) kubetopo_component_info)`) {
			byType[s.Metric["type"]] = s.Value
		}
		t.Logf("%v series with a urn; distinct urns by component type: %v", n, byType)
		for _, typ := range []string{"container", "pod", "node", "namespace", "deployment", "replicaset", "statefulset", "daemonset", "service", "configmap", "secret"} {
			if byType[typ] == 0 {
				t.Errorf("no series maps to a %s", typ)
			}
		}
		// The recorded node's 7 pods are all described by the kubelet.
		if byType["pod"] < 7 || byType["container"] < 8 {
			t.Errorf("pods %v, containers %v: want at least the recorded node's 7 and 8", byType["pod"], byType["container"])
		}
		noURN := testenv.Query(t, prom, `count({job="kubetopo-node-agent", metrics_path="/metrics", urn=""})`)
		if len(noURN) != 1 || noURN[0].Value == 0 {
			t.Errorf("the kubelet's own process series should be republished without a urn: %v", noURN)
		}
	})

	t.Run("pushed through the receiver, the same series arrive", func(t *testing.T) {
		// Pushed series have no job label; scraped ones do. Per kubelet
		// endpoint and for KSM, as many series arrive pushed as scraped.
		testenv.Eventually(t, 60*time.Second, "pushed series equal the scraped ones", func() (bool, string) {
			count := func(job string) map[string]float64 {
				m := map[string]float64{}
				for _, s := range testenv.Query(t, prom, `count by (metrics_path) ({cluster="`+cluster+`", job="`+job+`", __name__!~"kubetopo_.*|go_.*|process_.*"})`) {
					m[s.Metric["metrics_path"]] = s.Value
				}
				return m
			}
			pushed, scraped := count(""), count("kubetopo-node-agent")
			if len(pushed) != 5 || fmt.Sprint(pushed) != fmt.Sprint(scraped) {
				return false, fmt.Sprintf("pushed %v\nscraped %v\n%s", pushed, scraped, na.logTail())
			}
			t.Logf("series by metrics_path (\"\" = kube-state-metrics): %v", pushed)
			return true, ""
		})
		dangling := testenv.Query(t, prom, `{cluster="`+cluster+`", job="", urn!=""} unless on (urn) kubetopo_component_info`)
		if len(dangling) != 0 {
			t.Errorf("%d pushed series with an unknown urn, e.g. %v", len(dangling), dangling[0].Metric)
		}
	})

	t.Run("host info joins the node component", func(t *testing.T) {
		got := testenv.Query(t, prom, `kubetopo_node_host_info{node="`+node+`"} * on (urn) group_left (type) kubetopo_component_info{type="node"}`)
		if len(got) != 1 || got[0].Metric["kernel"] == "" || got[0].Metric["container_runtime"] == "" {
			t.Fatalf("host info: %v", got)
		}
		t.Logf("host info: %v", got[0].Metric)
	})

	t.Run("the page passes promtool check metrics but for the sources' own findings", func(t *testing.T) {
		sources := map[string]bool{}
		for _, b := range append([][]byte{ksmPage}, kubeletPages["/metrics"], kubeletPages["/metrics/cadvisor"], kubeletPages["/metrics/resource"], kubeletPages["/metrics/probes"]) {
			for p := range promtoolProblems(t, b) {
				sources[p] = true
			}
		}
		for p := range promtoolProblems(t, na.scrape(t)) {
			if !sources[p] {
				t.Errorf("promtool finding not in any source: %s", p)
			}
		}
	})
}

func hostPort(t *testing.T, raw string) (string, int) {
	t.Helper()
	hp := raw[strings.Index(raw, "://")+3:]
	i := strings.LastIndex(hp, ":")
	port, err := strconv.Atoi(hp[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return hp[:i], port
}
