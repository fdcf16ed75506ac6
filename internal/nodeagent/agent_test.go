package nodeagent

import (
	"bytes"
	"context"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubetopo/kubetopo/internal/standin"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixtures is the project's one copy of the recorded expositions.
const fixtures = "../../testdata/fixtures"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kubeletPages are the recorded kubelet endpoint expositions that exist.
func kubeletPages(t testing.TB) map[string][]byte {
	pages := map[string][]byte{"/metrics/cadvisor": readTestdata(t, "cadvisor-v0.52.1.prom")}
	for path, file := range map[string]string{
		"/metrics":          "kubelet-v1.33.13-metrics.prom",
		"/metrics/resource": "kubelet-v1.33.13-metrics-resource.prom",
		"/metrics/probes":   "kubelet-v1.33.13-metrics-probes.prom",
	} {
		if b, err := os.ReadFile(filepath.Join(fixtures, file)); err == nil {
			pages[path] = b
		}
	}
	return pages
}

func ksmPod(name, node string, port int32, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "monitoring", Labels: map[string]string{"app.kubernetes.io/name": "kube-state-metrics"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{
			Name: "kube-state-metrics", Ports: []corev1.ContainerPort{{Name: "http-metrics", ContainerPort: port}, {Name: "telemetry", ContainerPort: 1}},
		}}},
		Status: corev1.PodStatus{Phase: phase, PodIP: "10.244.0.7"},
	}
}

type testAgent struct {
	agent   *Agent
	reg     *prometheus.Registry
	kubelet *standin.Server
}

// startAgent runs the agent against a TLS kubelet stand-in that checks a
// token, and a kube-state-metrics stand-in found through a pod.
func startAgent(t *testing.T, ksmPage []byte, extraPods ...*corev1.Pod) *testAgent {
	t.Helper()
	kubelet, err := standin.Start(standin.Options{Pages: kubeletPages(t), TLS: true, BearerToken: "node-agent-token"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kubelet.Close() })
	ksm, err := standin.Start(standin.Options{Pages: map[string][]byte{"/metrics": ksmPage}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ksm.Close() })
	dir := t.TempDir()
	tokenFile, caFile := filepath.Join(dir, "token"), filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(tokenFile, []byte("node-agent-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, kubelet.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	host, port := splitURL(t, kubelet.URL)
	var endpoints []string
	for p := range kubeletPages(t) {
		endpoints = append(endpoints, p)
	}
	sort.Strings(endpoints)
	_, ksmPort := splitURL(t, ksm.URL)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0"},
		Status: corev1.NodeStatus{
			NodeInfo: corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64", OSImage: "Debian", ContainerRuntimeVersion: "containerd://2.1.0", KubeletVersion: "v1.33.13", KernelVersion: "6.1.0"},
			Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi")},
		},
	}
	objs := []runtime.Object{node, ksmPod("kube-state-metrics-0", "kwok-node-0", int32(ksmPort), corev1.PodRunning)}
	for _, p := range extraPods {
		objs = append(objs, p)
	}
	reg := prometheus.NewRegistry()
	a, err := New(Options{
		Cluster: "c1", Node: "kwok-node-0", Client: fake.NewSimpleClientset(objs...),
		Kubelet:  KubeletOptions{Scheme: "https", Host: host, Port: port, TokenFile: tokenFile, CAFile: caFile, Endpoints: endpoints},
		KSM:      KSMOptions{Enabled: true, HostOverride: "127.0.0.1"},
		ProcRoot: "testdata/proc", Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	a.ScrapeOnce(ctx)
	return &testAgent{agent: a, reg: reg, kubelet: kubelet}
}

func (ta *testAgent) republished(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := ta.agent.Republisher().Write(&buf, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAgentGolden(t *testing.T) {
	ta := startAgent(t, readTestdata(t, "kube-state-metrics-v2.20.0.prom"))
	for name, ok := range successes(t, ta.reg) {
		if !ok {
			t.Errorf("source %s failed", name)
		}
	}
	if ta.kubelet.Denied() != 0 {
		t.Errorf("the kubelet stand-in refused %d requests: token not sent", ta.kubelet.Denied())
	}
	got := ta.republished(t)
	golden := filepath.Join("testdata", "republished.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("republished output differs from %s (rerun with -update and review the diff)", golden)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(bytes.NewReader(got)); err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	problems, err := promlint.New(bytes.NewReader(got)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	// The sources' own lint findings (KSM, cAdvisor) are theirs; nothing may
	// name the labels the agent adds.
	for _, p := range problems {
		if strings.Contains(p.Text, "cluster") || strings.Contains(p.Text, "urn") || strings.Contains(p.Text, "metrics_path") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

func splitURL(t testing.TB, raw string) (string, int) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), port
}

// successes returns kubetopo_scrape_source_success by source.
func successes(t testing.TB, g prometheus.Gatherer) map[string]bool {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "kubetopo_scrape_source_success" {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "source" {
					out[l.GetValue()] = m.GetGauge().GetValue() == 1
				}
			}
		}
	}
	return out
}
