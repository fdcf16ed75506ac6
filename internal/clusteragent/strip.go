package clusteragent

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubetopo/kubetopo/internal/events"
)

// strip drops what the mapping never reads before an object enters the
// informer cache: it keeps memory flat at scale, and it means values such as
// literal environment variables (which may hold credentials) are never kept.
//
// Pods, by far the most numerous objects, are cached as a podLite: only the
// fields the mapping, the selector join and the OOM synthesis read,
// compactly, so the decoded original, with its managed fields, probes,
// resources, conditions and statuses, becomes garbage at once.
// TestSlimPodMapsAlike proves the mapping and the OOM events of the pod
// rebuilt from a podLite equal those of the full one.
func strip(obj any) (any, error) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tomb, nil
	}
	if p, ok := obj.(*corev1.Pod); ok {
		return newPodLite(p), nil
	}
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		m.SetAnnotations(nil)
	}
	switch o := obj.(type) {
	case *corev1.Node:
		o.Status.Images = nil
		o.Status.VolumesInUse = nil
		o.Status.VolumesAttached = nil
		o.Status.Conditions = nil
	case *discoveryv1.EndpointSlice:
		o.Endpoints = slimEndpoints(o)
		o.Ports = nil
	}
	return obj, nil
}

// slimEndpoints keeps a slice's pod targets, which the mapping reads only
// for slices that the EndpointSlice controller did not derive from a
// Service's selector (those add nothing to the selector): a slice of a
// 100-pod Service then costs a few hundred bytes instead of tens of KB.
func slimEndpoints(es *discoveryv1.EndpointSlice) []discoveryv1.Endpoint {
	if es.Labels[discoveryv1.LabelManagedBy] == "endpointslice-controller.k8s.io" {
		return nil
	}
	var out []discoveryv1.Endpoint
	for _, ep := range es.Endpoints {
		if r := ep.TargetRef; r != nil && r.Kind == "Pod" {
			out = append(out, discoveryv1.Endpoint{TargetRef: &corev1.ObjectReference{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}})
		}
	}
	return out
}

// oomStatuses keeps the statuses of containers whose current or last
// termination was an OOM kill, with only what the synthesised event reads.
func oomStatuses(ss []corev1.ContainerStatus) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	for i := range ss {
		s := &ss[i]
		cur, last := oomTermination(s.State.Terminated), oomTermination(s.LastTerminationState.Terminated)
		if cur == nil && last == nil {
			continue
		}
		out = append(out, corev1.ContainerStatus{
			Name: s.Name, RestartCount: s.RestartCount,
			State: corev1.ContainerState{Terminated: cur}, LastTerminationState: corev1.ContainerState{Terminated: last},
		})
	}
	return out
}

func oomTermination(t *corev1.ContainerStateTerminated) *corev1.ContainerStateTerminated {
	if t == nil || t.Reason != events.ReasonOOMKilled {
		return nil
	}
	return &corev1.ContainerStateTerminated{
		Reason: t.Reason, ExitCode: t.ExitCode, StartedAt: t.StartedAt, FinishedAt: t.FinishedAt, ContainerID: t.ContainerID,
	}
}
