package health

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubetopo/kubetopo/topology"
)

// Metrics are the kube-state-metrics families the checks read; the receiver
// keeps their latest values, and a question about a past time queries them.
var Metrics = []string{
	"kube_deployment_spec_replicas", "kube_deployment_status_replicas_ready", "kube_deployment_status_replicas_available",
	"kube_statefulset_replicas", "kube_statefulset_status_replicas_ready",
	"kube_daemonset_status_desired_number_scheduled", "kube_daemonset_status_number_ready",
	"kube_replicaset_spec_replicas", "kube_replicaset_status_ready_replicas",
	"kube_pod_status_phase", "kube_pod_status_ready",
	"kube_pod_container_status_waiting_reason", "kube_pod_init_container_status_waiting_reason", "kube_pod_container_status_ready",
	"kube_node_status_condition",
}

// IsInput reports whether a metric is one of Metrics.
func IsInput(metric string) bool {
	for _, m := range Metrics {
		if m == metric {
			return true
		}
	}
	return false
}

// desiredReady names, per workload type, the desired and the ready series.
// Since the Kubernetes StackPack 3.8.0 "Desired vs Ready" reads the Ready
// replicas stream (not the replicas stream): so do we.
var desiredReady = map[string][3]string{
	topology.TypeDeployment:  {"kube_deployment_spec_replicas", "kube_deployment_status_replicas_ready", "kube_deployment_status_replicas_available"},
	topology.TypeStatefulSet: {"kube_statefulset_replicas", "kube_statefulset_status_replicas_ready"},
	topology.TypeDaemonSet:   {"kube_daemonset_status_desired_number_scheduled", "kube_daemonset_status_number_ready"},
	topology.TypeReplicaSet:  {"kube_replicaset_spec_replicas", "kube_replicaset_status_ready_replicas"},
}

// Waiting reasons and the state they give a container. A reason not listed
// (ContainerCreating, PodInitializing) is a normal start: CLEAR.
var waitingReasons = map[string]State{
	"CrashLoopBackOff":           Critical,  // started and keeps failing
	"ImagePullBackOff":           Critical,  // pulls failed repeatedly; the kubelet backs off
	"InvalidImageName":           Critical,  // can never succeed without a change
	"CreateContainerConfigError": Critical,  // a missing ConfigMap/Secret key: needs a change
	"ErrImagePull":               Deviating, // the first failed pull: may still succeed
	"CreateContainerError":       Deviating,
	"RunContainerError":          Deviating,
	"PreCreateHookError":         Deviating,
	"PostStartHookError":         Deviating,
}

func checks(typ string, samples []Sample) []Check {
	if len(samples) == 0 {
		return nil
	}
	switch typ {
	case topology.TypeDeployment, topology.TypeStatefulSet, topology.TypeDaemonSet, topology.TypeReplicaSet:
		if c, ok := desiredVsReady(desiredReady[typ], samples); ok {
			return []Check{c}
		}
	case topology.TypePod:
		return podChecks(samples)
	case topology.TypeContainer:
		if c, ok := waitingCheck(samples); ok {
			return []Check{c}
		}
	case topology.TypeNode:
		return nodeChecks(samples)
	}
	return nil
}

func find(samples []Sample, metric string) (float64, bool) {
	for _, s := range samples {
		if s.Metric == metric {
			return s.Value, true
		}
	}
	return 0, false
}

func desiredVsReady(names [3]string, samples []Sample) (Check, bool) {
	desired, ok := find(samples, names[0])
	if !ok {
		return Check{}, false
	}
	ready, ok := find(samples, names[1])
	if !ok && names[2] != "" {
		ready, ok = find(samples, names[2])
	}
	if !ok {
		return Check{}, false
	}
	c := Check{Name: "Desired vs Ready", Reason: fmt.Sprintf("%g of %g desired replicas ready", ready, desired)}
	switch {
	case desired <= 0 || ready >= desired:
		c.State = Clear
	case ready <= 0:
		c.State = Critical
	default:
		c.State = Deviating
	}
	return c, true
}

// current returns the label value of the series of a metric whose value is
// 1 (KSM's one-hot encoding of phase, condition and reason), sorted.
func current(samples []Sample, metric, label string, where ...string) []string {
	var out []string
	for _, s := range samples {
		if s.Metric != metric || s.Value != 1 {
			continue
		}
		ok := true
		for i := 0; i+1 < len(where); i += 2 {
			if s.Labels[where[i]] != where[i+1] {
				ok = false
			}
		}
		if ok {
			out = append(out, s.Labels[label])
		}
	}
	sort.Strings(out)
	return out
}

func podChecks(samples []Sample) []Check {
	var out []Check
	phases := current(samples, "kube_pod_status_phase", "phase")
	phase := strings.Join(phases, ",")
	if len(phases) > 0 {
		c := Check{Name: "Pod phase", Reason: "phase " + phase}
		switch phase {
		case "Running", "Succeeded":
			c.State = Clear
		case "Pending":
			c.State = Deviating
		case "Failed":
			c.State = Critical
		default:
			c.State = Unknown
		}
		out = append(out, c)
	}
	if phase == "Succeeded" || phase == "Failed" {
		return out // a finished pod is never ready: its phase says it all
	}
	if ready := current(samples, "kube_pod_status_ready", "condition"); len(ready) > 0 {
		c := Check{Name: "Pod ready", Reason: "Ready condition " + strings.Join(ready, ",")}
		switch strings.Join(ready, ",") {
		case "true":
			c.State = Clear
		case "false":
			c.State = Deviating
		default:
			c.State = Unknown
		}
		out = append(out, c)
	}
	return out
}

func waitingCheck(samples []Sample) (Check, bool) {
	reasons := append(current(samples, "kube_pod_container_status_waiting_reason", "reason"),
		current(samples, "kube_pod_init_container_status_waiting_reason", "reason")...)
	if len(reasons) == 0 {
		// KSM writes a waiting_reason series only while the container waits;
		// a container with other series and none of these is not waiting.
		return Check{Name: "Container waiting", State: Clear, Reason: "not waiting"}, true
	}
	c := Check{Name: "Container waiting", State: Clear, Reason: "waiting: " + strings.Join(reasons, ",")}
	for _, r := range reasons {
		if s := waitingReasons[r]; s > c.State {
			c.State = s
		}
	}
	return c, true
}

// Node conditions: Ready must be true; a pressure condition that is true is
// DEVIATING; NetworkUnavailable true is CRITICAL.
func nodeChecks(samples []Sample) []Check {
	var out []Check
	if st := current(samples, "kube_node_status_condition", "status", "condition", "Ready"); len(st) > 0 {
		c := Check{Name: "Node ready", Reason: "Ready condition " + strings.Join(st, ",")}
		if strings.Join(st, ",") == "true" {
			c.State = Clear
		} else {
			c.State = Critical
		}
		out = append(out, c)
	}
	for _, cond := range []string{"MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"} {
		st := current(samples, "kube_node_status_condition", "status", "condition", cond)
		if len(st) == 0 {
			continue
		}
		c := Check{Name: "Node " + cond, State: Clear, Reason: cond + " " + strings.Join(st, ",")}
		if strings.Join(st, ",") == "true" {
			c.State = Deviating
			if cond == "NetworkUnavailable" {
				c.State = Critical
			}
		}
		out = append(out, c)
	}
	return out
}
