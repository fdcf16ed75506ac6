package mapping

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/kubetopo/kubetopo/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// readExposition parses a recorded /metrics text with Prometheus' own parser
// and adds the target labels a scraping Prometheus would (extra).
// fixtures is the project's one copy of the recorded expositions
// (testdata/fixtures/PROVENANCE.md).
const fixtures = "../../testdata/fixtures/"

func readExposition(t testing.TB, path string, extra ...string) []labels.Labels {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := textparse.NewPromParser(b, labels.NewSymbolTable(), false)
	var out []labels.Labels
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if e != textparse.EntrySeries {
			continue
		}
		var ls labels.Labels
		p.Labels(&ls)
		bld := labels.NewBuilder(ls)
		for i := 0; i+1 < len(extra); i += 2 {
			bld.Set(extra[i], extra[i+1])
		}
		out = append(out, bld.Labels())
	}
	return out
}

func defaultMapper(t testing.TB) *Mapper {
	t.Helper()
	cfg, err := Parse(DefaultRules())
	if err != nil {
		t.Fatalf("default rules: %v", err)
	}
	return New(cfg, Options{})
}

// ksmKind is the component type each kube-state-metrics family describes and
// the KSM label holding its name, written from KSM's documentation, not from
// the rules.
var ksmKind = []struct{ prefix, typ, nameLabel string }{
	{"kube_pod_container_", topology.TypeContainer, "container"},
	{"kube_pod_init_container_", topology.TypeContainer, "container"},
	{"kube_pod_", topology.TypePod, "pod"},
	{"kube_deployment_", topology.TypeDeployment, "deployment"},
	{"kube_replicaset_", topology.TypeReplicaSet, "replicaset"},
	{"kube_statefulset_", topology.TypeStatefulSet, "statefulset"},
	{"kube_daemonset_", topology.TypeDaemonSet, "daemonset"},
	{"kube_job_", topology.TypeJob, "job_name"},
	{"kube_cronjob_", topology.TypeCronJob, "cronjob"},
	{"kube_service_", topology.TypeService, "service"},
	{"kube_ingress_", topology.TypeIngress, "ingress"},
	{"kube_configmap_", topology.TypeConfigMap, "configmap"},
	{"kube_secret_", topology.TypeSecret, "secret"},
	{"kube_persistentvolumeclaim_", topology.TypePersistentVolumeClaim, "persistentvolumeclaim"},
	{"kube_persistentvolume_", topology.TypePersistentVolume, "persistentvolume"},
	{"kube_namespace_", topology.TypeNamespace, "namespace"},
	{"kube_node_", topology.TypeNode, "node"},
	{"kube_horizontalpodautoscaler_", topology.TypeNamespace, "namespace"},
	{"kube_poddisruptionbudget_", topology.TypeNamespace, "namespace"},
	{"kube_resourcequota", topology.TypeNamespace, "namespace"},
	{"kube_limitrange", topology.TypeNamespace, "namespace"},
	{"kube_networkpolicy_", topology.TypeNamespace, "namespace"},
	{"kube_endpointslice_", topology.TypeNamespace, "namespace"},
	{"kube_lease_", topology.TypeNamespace, "namespace"},
}

// TestKubeStateMetricsFixture maps every series of the recorded KSM v2.20.0
// output (testdata/README.md) and checks each against the URN the topology
// package builds for the object the series names.
func TestKubeStateMetricsFixture(t *testing.T) {
	m := defaultMapper(t)
	series := readExposition(t, fixtures+"kube-state-metrics-v2.20.0.prom", "cluster", "fx", "job", "kube-state-metrics", "instance", "10.0.0.9:8080")
	if len(series) != 1714 {
		t.Fatalf("%d series in the fixture, its README says 1,714", len(series))
	}
	urns := topology.NewURNs("fx")
	var golden []string
	unmapped := map[string]int{}
	for _, ls := range series {
		name := ls.Get(labels.MetricName)
		res, reason := m.Map(ls)
		var kind *struct{ prefix, typ, nameLabel string }
		for i := range ksmKind {
			if strings.HasPrefix(name, ksmKind[i].prefix) {
				kind = &ksmKind[i]
				break
			}
		}
		if kind == nil {
			if reason == "" {
				t.Errorf("%s mapped to %s by %s; KSM has no component for it", ls, res.URN, res.Rule)
			}
			unmapped[name+" "+reason]++
			continue
		}
		if reason != "" {
			t.Errorf("%s: not mapped (%s), want a %s", ls, reason, kind.typ)
			continue
		}
		ns, obj := ls.Get("namespace"), ls.Get(kind.nameLabel)
		var want string
		switch kind.typ {
		case topology.TypeContainer:
			want = urns.Container(ns, ls.Get("pod"), obj)
		case topology.TypeNamespace, topology.TypeNode, topology.TypePersistentVolume:
			want = urns.Object(kind.typ, "", obj)
		default:
			want = urns.Object(kind.typ, ns, obj)
		}
		if res.URN != want || res.Type != kind.typ {
			t.Errorf("%s: mapped to %s (%s, rule %s), want %s (%s)", ls, res.URN, res.Type, res.Rule, want, kind.typ)
		}
		golden = append(golden, name+" "+res.URN+" "+res.Rule)
	}
	// What KSM reports that kubetopo has no component for.
	var un []string
	for k, n := range unmapped {
		un = append(un, fmt.Sprintf("%s x%d", k, n))
	}
	sort.Strings(un)
	wantUnmapped := []string{"kube_storageclass_created missing_labels x1", "kube_storageclass_info missing_labels x1"}
	if strings.Join(un, "\n") != strings.Join(wantUnmapped, "\n") {
		t.Errorf("unmapped KSM series:\n%s\nwant\n%s", strings.Join(un, "\n"), strings.Join(wantUnmapped, "\n"))
	}
	checkGolden(t, "testdata/kube-state-metrics-v2.20.0.mapped", golden)
}

func checkGolden(t *testing.T, path string, lines []string) {
	t.Helper()
	sort.Strings(lines)
	got := strings.Join(lines, "\n") + "\n"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the mapping (review, then -update):\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return ""
}

func TestMapTable(t *testing.T) {
	m := defaultMapper(t)
	u := topology.NewURNs("c1")
	pod := u.Object("pod", "shop", "web-1")
	for _, tc := range []struct {
		name   string
		series []string
		urn    string
		reason string
	}{
		{"urn label wins", []string{"__name__", "kube_pod_info", "cluster", "c1", "namespace", "x", "pod", "y", "urn", pod}, pod, ""},
		{"cadvisor container", []string{"__name__", "container_cpu_usage_seconds_total", "cluster", "c1", "namespace", "shop", "pod", "web-1", "container", "app", "id", "/kubepods/x"}, u.Container("shop", "web-1", "app"), ""},
		{"cadvisor pod cgroup", []string{"__name__", "container_memory_working_set_bytes", "cluster", "c1", "namespace", "shop", "pod", "web-1", "id", "/kubepods/pod1"}, pod, ""},
		{"cadvisor sandbox POD", []string{"__name__", "container_memory_working_set_bytes", "cluster", "c1", "namespace", "shop", "pod", "web-1", "container", "POD"}, pod, ""},
		{"cadvisor machine, node label", []string{"__name__", "container_cpu_usage_seconds_total", "cluster", "c1", "id", "/", "node", "n1", "instance", "10.0.0.1:10250"}, u.Object("node", "", "n1"), ""},
		{"cadvisor machine, instance", []string{"__name__", "machine_cpu_cores", "cluster", "c1", "instance", "n1:10250"}, u.Object("node", "", "n1"), ""},
		{"kubelet resource pod", []string{"__name__", "pod_cpu_usage_seconds_total", "cluster", "c1", "namespace", "shop", "pod", "web-1"}, pod, ""},
		{"kubelet volume stats", []string{"__name__", "kubelet_volume_stats_used_bytes", "cluster", "c1", "namespace", "db", "persistentvolumeclaim", "data-0"}, u.Object("persistent-volume-claim", "db", "data-0"), ""},
		{"kubelet probes", []string{"__name__", "prober_probe_total", "cluster", "c1", "namespace", "shop", "pod", "web-1", "container", "app", "probe_type", "Readiness", "result", "successful"}, u.Container("shop", "web-1", "app"), ""},
		{"node exporter by instance", []string{"__name__", "node_load1", "cluster", "c1", "instance", "n2:9100"}, u.Object("node", "", "n2"), ""},
		{"node exporter ipv6 instance", []string{"__name__", "node_load1", "cluster", "c1", "instance", "[fd00::1]:9100"}, u.Object("node", "", "fd00::1"), ""},
		{"node exporter node label", []string{"__name__", "node_memory_MemAvailable_bytes", "cluster", "c1", "node", "n3", "instance", "10.0.0.3:9100"}, u.Object("node", "", "n3"), ""},
		{"otel container", []string{"__name__", "k8s_container_cpu_time_seconds_total", "cluster", "c1", "k8s_namespace_name", "shop", "k8s_pod_name", "web-1", "k8s_container_name", "app", "k8s_node_name", "n1"}, u.Container("shop", "web-1", "app"), ""},
		{"otel pod", []string{"__name__", "k8s_pod_memory_usage_bytes", "cluster", "c1", "k8s_namespace_name", "shop", "k8s_pod_name", "web-1", "k8s_deployment_name", "web"}, pod, ""},
		{"otel deployment", []string{"__name__", "k8s_deployment_available", "cluster", "c1", "k8s_namespace_name", "shop", "k8s_deployment_name", "web"}, u.Object("deployment", "shop", "web"), ""},
		{"otel job", []string{"__name__", "k8s_job_active_pods", "cluster", "c1", "k8s_namespace_name", "shop", "k8s_job_name", "j"}, u.Object("job", "shop", "j"), ""},
		{"otel node", []string{"__name__", "k8s_node_cpu_utilization", "cluster", "c1", "k8s_node_name", "n1"}, u.Object("node", "", "n1"), ""},
		{"otel namespace", []string{"__name__", "k8s_namespace_phase", "cluster", "c1", "k8s_namespace_name", "shop"}, u.Object("namespace", "", "shop"), ""},
		{"app metric scraped from a pod", []string{"__name__", "http_requests_total", "cluster", "c1", "namespace", "shop", "pod", "web-1", "code", "200"}, pod, ""},
		{"ksm endpoint is its service", []string{"__name__", "kube_endpoint_address", "cluster", "c1", "namespace", "shop", "endpoint", "web"}, u.Object("service", "shop", "web"), ""},
		{"no cluster label", []string{"__name__", "kube_pod_info", "namespace", "shop", "pod", "web-1"}, "", ReasonNoCluster},
		{"no name-matching rule applies", []string{"__name__", "go_goroutines", "cluster", "c1", "instance", "x:1"}, "", ReasonMissingLabels},
		{"ksm family without its label", []string{"__name__", "kube_deployment_spec_replicas", "cluster", "c1", "namespace", "shop"}, "", ReasonMissingLabels},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, reason := m.Map(labels.FromStrings(tc.series...))
			if res.URN != tc.urn || reason != tc.reason {
				t.Errorf("Map = %q (rule %s) reason %q; want %q reason %q", res.URN, res.Rule, reason, tc.urn, tc.reason)
			}
		})
	}
}

func TestRulesFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/rules/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rules files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadFile(f)
			good := strings.HasPrefix(filepath.Base(f), "good")
			if good && err != nil {
				t.Errorf("rejected: %v", err)
			}
			if !good {
				if err == nil {
					t.Error("accepted")
				} else if want := expectedError(t, f); !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	if _, err := LoadFile("testdata/rules/does-not-exist.yaml"); err == nil {
		t.Error("a missing file was accepted")
	}
}

// expectedError reads the "# error: ..." first line of a bad rules file.
func expectedError(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	want, ok := strings.CutPrefix(first, "# error: ")
	if !ok {
		t.Fatalf("%s: first line must be '# error: <substring>'", path)
	}
	return want
}

func BenchmarkMap(b *testing.B) {
	m := defaultMapper(b)
	series := readExposition(b, fixtures+"kube-state-metrics-v2.20.0.prom", "cluster", "fx", "job", "kube-state-metrics", "instance", "10.0.0.9:8080")
	for _, ls := range series {
		m.Map(ls)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Map(series[i%len(series)])
	}
}

func BenchmarkMapURNLabel(b *testing.B) {
	m := defaultMapper(b)
	ls := labels.FromStrings("__name__", "container_cpu_usage_seconds_total", "cluster", "c", "namespace", "n", "pod", "p", "container", "c", "urn", "urn:kubernetes:/c:n:pod/p:container/c")
	m.Map(ls)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Map(ls)
	}
}

func TestNoRule(t *testing.T) {
	cfg, err := LoadFile("testdata/rules/good-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := New(cfg, Options{})
	if _, reason := m.Map(labels.FromStrings("__name__", "go_goroutines", "cluster", "c")); reason != ReasonNoRule {
		t.Errorf("reason %q, want %q", reason, ReasonNoRule)
	}
	res, reason := m.Map(labels.FromStrings("__name__", "kube_pod_info", "cluster", "c", "namespace", "n", "pod_name", "p"))
	if reason != "" || res.URN != "urn:kubernetes:/c:n:pod/p" {
		t.Errorf("second label of a list: %q %q", res.URN, reason)
	}
}

// TestKubeletFixtures maps the recorded kubelet v1.33.13 /metrics,
// /metrics/resource and /metrics/probes and the cAdvisor v0.52.1 /metrics
// (testdata/README.md), with the target labels a Prometheus scraping
// kwok-node-0 adds. The expectation is written from what each series
// describes, not from the rules: namespace+pod+container → that container,
// namespace+pod → that pod, node-level kubelet/cAdvisor families → the node,
// the exporters' own go_/process_/client families → nothing.
func TestKubeletFixtures(t *testing.T) {
	m := defaultMapper(t)
	u := topology.NewURNs("fx")
	node := u.Object("node", "", "kwok-node-0")
	nodeLevel := []string{"container_", "machine_", "kubelet_", "node_", "scrape_error", "resource_scrape_error"}
	for _, file := range []string{"kubelet-v1.33.13-metrics.prom", "kubelet-v1.33.13-metrics-resource.prom", "kubelet-v1.33.13-metrics-probes.prom", "cadvisor-v0.52.1.prom"} {
		t.Run(file, func(t *testing.T) {
			series := readExposition(t, fixtures+file, "cluster", "fx", "job", "kubelet", "instance", "kwok-node-0:10250")
			var golden []string
			counts := map[string]int{}
			for _, ls := range series {
				name := ls.Get(labels.MetricName)
				ns, pod, ctr := ls.Get("namespace"), ls.Get("pod"), ls.Get("container")
				want := ""
				switch {
				case ns != "" && pod != "" && ctr != "" && ctr != "POD":
					want = u.Container(ns, pod, ctr)
				case ns != "" && pod != "":
					want = u.Object("pod", ns, pod)
				default:
					for _, p := range nodeLevel {
						if strings.HasPrefix(name, p) {
							want = node
						}
					}
				}
				res, reason := m.Map(ls)
				if res.URN != want {
					t.Errorf("%s: mapped to %q (%s%s), want %q", ls, res.URN, res.Rule, reason, want)
				}
				if reason == "" {
					counts[res.Rule]++
				} else {
					counts["unmapped:"+reason]++
				}
				golden = append(golden, fmt.Sprintf("%s %s %s%s", name, res.URN, res.Rule, reason))
			}
			t.Logf("%d series: %v", len(series), counts)
			checkGolden(t, "testdata/"+strings.TrimSuffix(file, ".prom")+".mapped", golden)
		})
	}
}
