package nodeagent

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// series is one series of a recorded exposition with its family name.
type series struct {
	family string
	l      labels.Labels
}

// recorded returns every series of a fixture, with the family its TYPE line
// named.
func recorded(t testing.TB, name string) []series {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	p := textparse.NewPromParser(b, labels.NewSymbolTable(), false)
	var out []series
	family := ""
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch e {
		case textparse.EntryType:
			n, _ := p.Type()
			family = string(n)
		case textparse.EntrySeries:
			var l labels.Labels
			p.Labels(&l)
			out = append(out, series{family: family, l: l})
		}
	}
	return out
}

// The expected URNs below are written from the grammar in SPEC.md, not
// computed with topology.URNs, so that a change in either shows up here.
const prefix = "urn:kubernetes:/c1"

// expectation is the URN one class of families must get, from the labels.
type expectation struct {
	class string
	match func(family string, l labels.Labels) bool
	want  func(l labels.Labels) string
}

func fam(prefixes ...string) func(string, labels.Labels) bool {
	return func(f string, _ labels.Labels) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(f, p) {
				return true
			}
		}
		return false
	}
}

func namespaced(kind, label string) func(labels.Labels) string {
	return func(l labels.Labels) string {
		return prefix + ":" + l.Get("namespace") + ":" + kind + "/" + l.Get(label)
	}
}

func clusterScoped(kind, label string) func(labels.Labels) string {
	return func(l labels.Labels) string { return prefix + ":" + kind + "/" + l.Get(label) }
}

func none(labels.Labels) string { return "" }

var ksmExpectations = []expectation{
	{"container", func(f string, l labels.Labels) bool {
		return (strings.HasPrefix(f, "kube_pod_container_") || strings.HasPrefix(f, "kube_pod_init_container_")) && l.Get("container") != ""
	}, func(l labels.Labels) string {
		return prefix + ":" + l.Get("namespace") + ":pod/" + l.Get("pod") + ":container/" + l.Get("container")
	}},
	{"pod", fam("kube_pod_"), namespaced("pod", "pod")},
	{"node", fam("kube_node_"), clusterScoped("node", "node")},
	{"namespace", fam("kube_namespace_"), clusterScoped("namespace", "namespace")},
	{"deployment", fam("kube_deployment_"), namespaced("deployment", "deployment")},
	{"replicaset", fam("kube_replicaset_"), namespaced("replicaset", "replicaset")},
	{"statefulset", fam("kube_statefulset_"), namespaced("statefulset", "statefulset")},
	{"daemonset", fam("kube_daemonset_"), namespaced("daemonset", "daemonset")},
	{"job", fam("kube_job_"), namespaced("job", "job_name")},
	{"cronjob", fam("kube_cronjob_"), namespaced("cronjob", "cronjob")},
	{"service", fam("kube_service_"), namespaced("service", "service")},
	{"ingress", fam("kube_ingress_"), namespaced("ingress", "ingress")},
	{"configmap", fam("kube_configmap_"), namespaced("configmap", "configmap")},
	{"secret", fam("kube_secret_"), namespaced("secret", "secret")},
	{"persistent-volume-claim", fam("kube_persistentvolumeclaim_"), namespaced("persistent-volume-claim", "persistentvolumeclaim")},
	{"persistent-volume", fam("kube_persistentvolume_"), clusterScoped("persistent-volume", "persistentvolume")},
	{"namespace of an unmodelled kind", fam("kube_horizontalpodautoscaler_", "kube_poddisruptionbudget_", "kube_resourcequota",
		"kube_limitrange", "kube_networkpolicy_", "kube_endpointslice_", "kube_lease_"), clusterScoped("namespace", "namespace")},
	{"no urn: cluster-scoped, unmodelled", fam("kube_storageclass_"), none},
}

// TestKSMResolverOnRecordedSeries resolves every series of the recorded
// kube-state-metrics output and checks it against its class; every class
// must be seen, and every series must belong to a class.
func TestKSMResolverOnRecordedSeries(t *testing.T) {
	r := NewResolver("c1", "kwok-node-0")
	for _, fixture := range []string{"kube-state-metrics-v2.20.0.prom", "kube-state-metrics-v2.20.0-labels.prom"} {
		t.Run(fixture, func(t *testing.T) {
			seen := map[string]int{}
			for _, s := range recorded(t, fixture) {
				var e *expectation
				for i := range ksmExpectations {
					if ksmExpectations[i].match(s.family, s.l) {
						e = &ksmExpectations[i]
						break
					}
				}
				if e == nil {
					t.Errorf("series %s of family %s is in no class", s.l, s.family)
					continue
				}
				seen[e.class]++
				if got, want := r.KSM(s.family, s.l), e.want(s.l); got != want {
					t.Errorf("%s (%s): urn %q, want %q", s.l, e.class, got, want)
				}
			}
			for _, e := range ksmExpectations {
				t.Logf("%-35s %4d series", e.class, seen[e.class])
				if seen[e.class] == 0 {
					t.Errorf("class %s: no series in the recording", e.class)
				}
			}
		})
	}
}

func TestResolverExamples(t *testing.T) {
	r := NewResolver("c1", "kwok-node-0")
	lbl := func(kv ...string) labels.Labels { return labels.FromStrings(kv...) }
	tests := []struct {
		name, source, family string
		l                    labels.Labels
		want                 string
	}{
		{"KSM container", "ksm", "kube_pod_container_info", lbl("namespace", "boutique", "pod", "frontend-1", "container", "server"), "urn:kubernetes:/c1:boutique:pod/frontend-1:container/server"},
		{"KSM init container", "ksm", "kube_pod_init_container_info", lbl("namespace", "boutique", "pod", "lg-1", "container", "frontend-check"), "urn:kubernetes:/c1:boutique:pod/lg-1:container/frontend-check"},
		{"KSM resource request names a node but is a container's", "ksm", "kube_pod_container_resource_requests", lbl("namespace", "n", "pod", "p", "container", "c", "node", "kwok-node-1"), "urn:kubernetes:/c1:n:pod/p:container/c"},
		{"KSM pod", "ksm", "kube_pod_info", lbl("namespace", "n", "pod", "p", "node", "kwok-node-1"), "urn:kubernetes:/c1:n:pod/p"},
		{"KSM job uses job_name", "ksm", "kube_job_owner", lbl("namespace", "n", "job_name", "j", "owner_kind", "CronJob", "owner_name", "cj"), "urn:kubernetes:/c1:n:job/j"},
		{"KSM endpoint is its service", "ksm", "kube_endpoint_address", lbl("namespace", "n", "endpoint", "web"), "urn:kubernetes:/c1:n:service/web"},
		{"KSM PV claim_ref is the PV's", "ksm", "kube_persistentvolume_claim_ref", lbl("persistentvolume", "pv0", "name", "data", "claim_namespace", "n"), "urn:kubernetes:/c1:persistent-volume/pv0"},
		{"KSM ingress TLS names a secret but is the ingress's", "ksm", "kube_ingress_tls", lbl("namespace", "n", "ingress", "i", "secret", "tls"), "urn:kubernetes:/c1:n:ingress/i"},
		{"KSM pod without namespace: nothing", "ksm", "kube_pod_info", lbl("pod", "p"), ""},
		{"KSM certificatesigningrequest: nothing", "ksm", "kube_certificatesigningrequest_cert_length", lbl("certificatesigningrequest", "csr"), ""},
		{"kubelet cAdvisor container", "kubelet", "container_cpu_usage_seconds_total", lbl("namespace", "n", "pod", "p", "container", "c", "id", "/kubepods/x"), "urn:kubernetes:/c1:n:pod/p:container/c"},
		{"kubelet cAdvisor pod cgroup", "kubelet", "container_memory_working_set_bytes", lbl("namespace", "n", "pod", "p", "container", "", "id", "/kubepods/x"), "urn:kubernetes:/c1:n:pod/p"},
		{"kubelet cAdvisor sandbox POD", "kubelet", "container_memory_working_set_bytes", lbl("namespace", "n", "pod", "p", "container", "POD"), "urn:kubernetes:/c1:n:pod/p"},
		{"kubelet cAdvisor root cgroup", "kubelet", "container_cpu_usage_seconds_total", lbl("id", "/"), "urn:kubernetes:/c1:node/kwok-node-0"},
		{"kubelet machine", "kubelet", "machine_cpu_cores", lbl(), "urn:kubernetes:/c1:node/kwok-node-0"},
		{"kubelet resource pod", "kubelet", "pod_cpu_usage_seconds_total", lbl("namespace", "n", "pod", "p"), "urn:kubernetes:/c1:n:pod/p"},
		{"kubelet resource node", "kubelet", "node_memory_working_set_bytes", lbl(), "urn:kubernetes:/c1:node/kwok-node-0"},
		{"kubelet probe", "kubelet", "prober_probe_total", lbl("namespace", "n", "pod", "p", "container", "c", "probe_type", "Readiness"), "urn:kubernetes:/c1:n:pod/p:container/c"},
		{"kubelet volume stats", "kubelet", "kubelet_volume_stats_used_bytes", lbl("namespace", "n", "persistentvolumeclaim", "data"), "urn:kubernetes:/c1:n:persistent-volume-claim/data"},
		{"kubelet's own kubelet_ series", "kubelet", "kubelet_running_pods", lbl(), "urn:kubernetes:/c1:node/kwok-node-0"},
		{"kubelet process runtime: nothing", "kubelet", "go_goroutines", lbl(), ""},
		{"kubelet client metrics: nothing", "kubelet", "rest_client_requests_total", lbl("code", "200", "host", "10.0.0.1:6443"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.KSM(tc.family, tc.l)
			if tc.source == "kubelet" {
				got = r.Kubelet(tc.family, tc.l)
			}
			if got != tc.want {
				t.Errorf("urn %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKubeletResolverOnRecordedCAdvisor(t *testing.T) {
	r := NewResolver("c1", "node-a")
	counts := map[string]int{}
	for _, s := range recorded(t, "cadvisor-v0.52.1.prom") {
		got := r.Kubelet(s.family, s.l)
		switch {
		case strings.HasPrefix(s.family, "container_"), strings.HasPrefix(s.family, "machine_"):
			// No container runtime where it was recorded: no pod labels, so
			// every cgroup series is the node's.
			if got != "urn:kubernetes:/c1:node/node-a" {
				t.Errorf("%s: urn %q, want the node's", s.l, got)
			}
		default: // go_*, process_*, cadvisor_version_info
			if got != "" {
				t.Errorf("%s: urn %q, want none", s.l, got)
			}
		}
		counts[got]++
	}
	if counts[""] == 0 || counts["urn:kubernetes:/c1:node/node-a"] == 0 {
		t.Errorf("both classes must occur: %v", counts)
	}
}

func TestKubeletResolverOnRecordedKubelet(t *testing.T) {
	r := NewResolver("c1", "kwok-node-0")
	node := "urn:kubernetes:/c1:node/kwok-node-0"
	containerURN := func(l labels.Labels) string {
		return prefix + ":" + l.Get("namespace") + ":pod/" + l.Get("pod") + ":container/" + l.Get("container")
	}
	podURN := func(l labels.Labels) string { return prefix + ":" + l.Get("namespace") + ":pod/" + l.Get("pod") }
	for _, fixture := range []string{"kubelet-v1.33.13-metrics-resource.prom", "kubelet-v1.33.13-metrics-probes.prom", "kubelet-v1.33.13-metrics.prom"} {
		t.Run(fixture, func(t *testing.T) {
			classes := map[string]int{}
			for _, s := range recorded(t, fixture) {
				var want, class string
				switch {
				case s.l.Get("container") != "" && s.l.Get("pod") != "":
					want, class = containerURN(s.l), "container"
				case strings.HasPrefix(s.family, "pod_"):
					want, class = podURN(s.l), "pod"
				case strings.HasPrefix(s.family, "node_"), strings.HasPrefix(s.family, "kubelet_"), strings.HasSuffix(s.family, "scrape_error"):
					want, class = node, "node"
				default: // the kubelet process's own: go_*, process_*, apiserver_*, ...
					want, class = "", "none"
				}
				classes[class]++
				if got := r.Kubelet(s.family, s.l); got != want {
					t.Errorf("%s (%s): urn %q, want %q", s.l, class, got, want)
				}
			}
			t.Logf("%v", classes)
		})
	}
}

func TestReadHostFacts(t *testing.T) {
	// testdata/proc is this machine's /proc as recorded (see PROVENANCE.md).
	f := ReadHostFacts("testdata/proc", nil)
	if f.CPUs != 2 || f.MemoryBytes != 24683664*1024 || f.BootTime != 1796283477 || f.Kernel != "6.18.44-fc-v1147" {
		t.Errorf("from /proc: %+v", f)
	}
	// Without /proc, the Node's capacity and kernel stand in.
	node := &corev1.Node{Status: corev1.NodeStatus{
		NodeInfo: corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "arm64", KernelVersion: "6.1.0", ContainerRuntimeVersion: "containerd://2.1.0", OSImage: "Debian GNU/Linux 12"},
		Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi")},
	}}
	f = ReadHostFacts(t.TempDir(), node)
	want := HostFacts{OS: "linux", OSImage: "Debian GNU/Linux 12", Kernel: "6.1.0", Arch: "arm64", ContainerRuntime: "containerd://2.1.0", CPUs: 32, MemoryBytes: 256 << 30}
	if f != want {
		t.Errorf("from the Node:\n got %+v\nwant %+v", f, want)
	}
}
