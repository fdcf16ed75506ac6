package health

import (
	"testing"

	"github.com/kubetopo/kubetopo/internal/model"
)

func s(metric string, v float64, kv ...string) Sample {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return Sample{Metric: metric, Labels: l, Value: v}
}

func TestChecks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     string
		samples []Sample
		want    State
	}{
		{"deployment all ready", "deployment", []Sample{s("kube_deployment_spec_replicas", 3), s("kube_deployment_status_replicas_ready", 3)}, Clear},
		{"deployment surge", "deployment", []Sample{s("kube_deployment_spec_replicas", 3), s("kube_deployment_status_replicas_ready", 4)}, Clear},
		{"deployment some ready", "deployment", []Sample{s("kube_deployment_spec_replicas", 3), s("kube_deployment_status_replicas_ready", 1)}, Deviating},
		{"deployment none ready", "deployment", []Sample{s("kube_deployment_spec_replicas", 3), s("kube_deployment_status_replicas_ready", 0)}, Critical},
		{"deployment scaled to zero", "deployment", []Sample{s("kube_deployment_spec_replicas", 0), s("kube_deployment_status_replicas_ready", 0)}, Clear},
		{"deployment ready stream missing: available", "deployment", []Sample{s("kube_deployment_spec_replicas", 2), s("kube_deployment_status_replicas_available", 1)}, Deviating},
		{"deployment without desired", "deployment", []Sample{s("kube_deployment_status_replicas_ready", 1)}, Unknown},
		{"statefulset", "statefulset", []Sample{s("kube_statefulset_replicas", 3), s("kube_statefulset_status_replicas_ready", 2)}, Deviating},
		{"daemonset none", "daemonset", []Sample{s("kube_daemonset_status_desired_number_scheduled", 3), s("kube_daemonset_status_number_ready", 0)}, Critical},
		{"replicaset", "replicaset", []Sample{s("kube_replicaset_spec_replicas", 2), s("kube_replicaset_status_ready_replicas", 2)}, Clear},
		{"pod running ready", "pod", []Sample{s("kube_pod_status_phase", 1, "phase", "Running"), s("kube_pod_status_phase", 0, "phase", "Pending"), s("kube_pod_status_ready", 1, "condition", "true"), s("kube_pod_status_ready", 0, "condition", "false")}, Clear},
		{"pod running not ready", "pod", []Sample{s("kube_pod_status_phase", 1, "phase", "Running"), s("kube_pod_status_ready", 0, "condition", "true"), s("kube_pod_status_ready", 1, "condition", "false")}, Deviating},
		{"pod pending", "pod", []Sample{s("kube_pod_status_phase", 1, "phase", "Pending")}, Deviating},
		{"pod failed", "pod", []Sample{s("kube_pod_status_phase", 1, "phase", "Failed"), s("kube_pod_status_ready", 1, "condition", "false")}, Critical},
		{"pod succeeded is not judged by readiness", "pod", []Sample{s("kube_pod_status_phase", 1, "phase", "Succeeded"), s("kube_pod_status_ready", 1, "condition", "false")}, Clear},
		{"container crashloop", "container", []Sample{s("kube_pod_container_status_waiting_reason", 1, "reason", "CrashLoopBackOff")}, Critical},
		{"container image pull backoff", "container", []Sample{s("kube_pod_container_status_waiting_reason", 1, "reason", "ImagePullBackOff")}, Critical},
		{"container first pull error", "container", []Sample{s("kube_pod_container_status_waiting_reason", 1, "reason", "ErrImagePull")}, Deviating},
		{"container creating", "container", []Sample{s("kube_pod_container_status_waiting_reason", 1, "reason", "ContainerCreating")}, Clear},
		{"container running", "container", []Sample{s("kube_pod_container_status_ready", 1)}, Clear},
		{"node ready", "node", []Sample{s("kube_node_status_condition", 1, "condition", "Ready", "status", "true"), s("kube_node_status_condition", 0, "condition", "Ready", "status", "false")}, Clear},
		{"node not ready", "node", []Sample{s("kube_node_status_condition", 1, "condition", "Ready", "status", "false")}, Critical},
		{"node ready unknown", "node", []Sample{s("kube_node_status_condition", 1, "condition", "Ready", "status", "unknown")}, Critical},
		{"node memory pressure", "node", []Sample{s("kube_node_status_condition", 1, "condition", "Ready", "status", "true"), s("kube_node_status_condition", 1, "condition", "MemoryPressure", "status", "true")}, Deviating},
		{"configmap has no checks", "configmap", []Sample{s("kube_configmap_info", 1)}, Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got State
			cs := checks(tc.typ, tc.samples)
			for _, c := range cs {
				got = max(got, c.State)
			}
			if got != tc.want {
				t.Errorf("state %s, want %s (checks %+v)", got, tc.want, cs)
			}
		})
	}
}

// A small cluster: ns encloses deploy; deploy controls rs; rs controls p1,
// p2; p1, p2 enclose containers; pods are scheduled on n1; svc exposes both.
func smallGraph() *model.Graph {
	b := model.NewBuilder()
	add := func(urn, typ string) { b.AddComponent(&model.Component{URN: urn, Type: typ, Cluster: "c", Name: urn}) }
	rel := func(typ, src, tgt string) {
		b.AddRelation(&model.Relation{Cluster: "c", Type: typ, Source: src, Target: tgt})
	}
	for urn, typ := range map[string]string{"ns": "namespace", "deploy": "deployment", "rs": "replicaset", "p1": "pod", "p2": "pod", "c1": "container", "c2": "container", "n1": "node", "svc": "service", "cm": "configmap", "cluster": "cluster"} {
		add(urn, typ)
	}
	rel("encloses", "ns", "deploy")
	rel("encloses", "ns", "svc")
	rel("controls", "deploy", "rs")
	rel("controls", "rs", "p1")
	rel("controls", "rs", "p2")
	rel("encloses", "p1", "c1")
	rel("encloses", "p2", "c2")
	rel("scheduled_on", "p1", "n1")
	rel("scheduled_on", "p2", "n1")
	rel("runs_on", "c1", "n1")
	rel("exposes", "svc", "p1")
	rel("exposes", "svc", "p2")
	rel("uses", "p1", "cm")
	rel("belongs_to", "n1", "cluster")
	return b.Graph()
}

func healthy() Inputs {
	return Inputs{
		"deploy": {s("kube_deployment_spec_replicas", 2), s("kube_deployment_status_replicas_ready", 2)},
		"rs":     {s("kube_replicaset_spec_replicas", 2), s("kube_replicaset_status_ready_replicas", 2)},
		"p1":     {s("kube_pod_status_phase", 1, "phase", "Running"), s("kube_pod_status_ready", 1, "condition", "true")},
		"p2":     {s("kube_pod_status_phase", 1, "phase", "Running"), s("kube_pod_status_ready", 1, "condition", "true")},
		"c1":     {s("kube_pod_container_status_ready", 1)},
		"c2":     {s("kube_pod_container_status_ready", 1)},
		"n1":     {s("kube_node_status_condition", 1, "condition", "Ready", "status", "true")},
	}
}

func TestPropagation(t *testing.T) {
	g := smallGraph()
	t.Run("all clear", func(t *testing.T) {
		r := Evaluate(g, healthy())
		for urn, want := range map[string]State{"ns": Clear, "deploy": Clear, "svc": Clear, "p1": Clear, "n1": Clear, "cm": Unknown, "cluster": Unknown} {
			if got := r.Get(urn).State; got != want {
				t.Errorf("%s: %s, want %s", urn, got, want)
			}
		}
		if r.Get("ns").Own != Unknown {
			t.Errorf("namespace has own state %s without checks", r.Get("ns").Own)
		}
	})
	t.Run("a crashing container", func(t *testing.T) {
		in := healthy()
		in["c2"] = []Sample{s("kube_pod_container_status_waiting_reason", 1, "reason", "CrashLoopBackOff")}
		in["p2"] = []Sample{s("kube_pod_status_phase", 1, "phase", "Running"), s("kube_pod_status_ready", 1, "condition", "false")}
		in["rs"] = []Sample{s("kube_replicaset_spec_replicas", 2), s("kube_replicaset_status_ready_replicas", 1)}
		in["deploy"] = []Sample{s("kube_deployment_spec_replicas", 2), s("kube_deployment_status_replicas_ready", 1)}
		r := Evaluate(g, in)
		for urn, want := range map[string][2]State{ // own, effective
			"c2": {Critical, Critical}, "p2": {Deviating, Critical}, "rs": {Deviating, Critical},
			"deploy": {Deviating, Critical}, "ns": {Unknown, Critical}, "svc": {Unknown, Critical},
			"p1": {Clear, Clear}, "c1": {Clear, Clear}, "n1": {Clear, Clear},
		} {
			if got := r.Get(urn); got.Own != want[0] || got.State != want[1] {
				t.Errorf("%s: own %s state %s, want %s %s", urn, got.Own, got.State, want[0], want[1])
			}
		}
		if got := r.Get("p2").Cause; got != "c2" {
			t.Errorf("p2 propagated from %q, want c2", got)
		}
		if got := r.Get("deploy").Cause; got != "rs" {
			t.Errorf("deploy propagated from %q, want rs", got)
		}
	})
	t.Run("a node not ready reaches its pods and up, not the cluster", func(t *testing.T) {
		in := healthy()
		in["n1"] = []Sample{s("kube_node_status_condition", 1, "condition", "Ready", "status", "false")}
		r := Evaluate(g, in)
		for urn, want := range map[string]State{"n1": Critical, "p1": Critical, "p2": Critical, "c1": Critical, "c2": Clear, "rs": Critical, "deploy": Critical, "ns": Critical, "cluster": Unknown, "cm": Unknown} {
			if got := r.Get(urn).State; got != want {
				t.Errorf("%s: %s, want %s", urn, got, want)
			}
		}
	})
}

func TestPropagationCycle(t *testing.T) {
	b := model.NewBuilder()
	for _, u := range []string{"a", "b", "c"} {
		b.AddComponent(&model.Component{URN: u, Type: "pod"})
	}
	b.AddRelation(&model.Relation{Type: "x", Source: "a", Target: "b"})
	b.AddRelation(&model.Relation{Type: "x", Source: "b", Target: "c"})
	b.AddRelation(&model.Relation{Type: "x", Source: "c", Target: "a"})
	r := Evaluate(b.Graph(), Inputs{"c": {s("kube_pod_status_phase", 1, "phase", "Pending")}})
	for _, u := range []string{"a", "b", "c"} {
		if r.Get(u).State != Deviating {
			t.Errorf("%s: %s, want DEVIATING around the cycle", u, r.Get(u).State)
		}
	}
}
