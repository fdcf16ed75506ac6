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
// fields the mapping, the selector join and the OOM synthesis read (slimPod),
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

// slimPod returns a new Pod with only what kubetopo reads: identity, labels
// and owners; the node; the volumes and, per container, its name, mounts and
// ConfigMap/Secret references (never a literal env value); the phase; and
// the container statuses whose termination was an OOM kill.
func slimPod(p *corev1.Pod) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			CreationTimestamp: p.CreationTimestamp, DeletionTimestamp: p.DeletionTimestamp,
			Labels: p.Labels, OwnerReferences: p.OwnerReferences,
		},
		Spec: corev1.PodSpec{
			NodeName:            p.Spec.NodeName,
			Volumes:             slimVolumes(p.Spec.Volumes),
			InitContainers:      slimContainers(p.Spec.InitContainers),
			Containers:          slimContainers(p.Spec.Containers),
			EphemeralContainers: slimEphemeral(p.Spec.EphemeralContainers),
		},
		Status: corev1.PodStatus{
			Phase:                      p.Status.Phase,
			ContainerStatuses:          oomStatuses(p.Status.ContainerStatuses),
			InitContainerStatuses:      oomStatuses(p.Status.InitContainerStatuses),
			EphemeralContainerStatuses: oomStatuses(p.Status.EphemeralContainerStatuses),
		},
	}
}

func slimVolumes(vs []corev1.Volume) []corev1.Volume {
	if len(vs) == 0 {
		return nil
	}
	out := make([]corev1.Volume, len(vs))
	for i := range vs {
		v, o := &vs[i].VolumeSource, &out[i]
		o.Name = vs[i].Name
		switch {
		case v.ConfigMap != nil:
			o.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: v.ConfigMap.LocalObjectReference}
		case v.Secret != nil:
			o.Secret = &corev1.SecretVolumeSource{SecretName: v.Secret.SecretName}
		case v.PersistentVolumeClaim != nil:
			o.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.PersistentVolumeClaim.ClaimName}
		case v.Ephemeral != nil:
			o.Ephemeral = &corev1.EphemeralVolumeSource{}
		case v.Projected != nil:
			o.Projected = &corev1.ProjectedVolumeSource{Sources: slimProjections(v.Projected.Sources)}
		case v.EmptyDir != nil:
			o.EmptyDir = &corev1.EmptyDirVolumeSource{}
		case v.DownwardAPI != nil:
			o.DownwardAPI = &corev1.DownwardAPIVolumeSource{}
		default:
			// Host paths and the rarer sources (NFS, CSI, cloud disks ...)
			// name external volumes by their fields: kept whole.
			o.VolumeSource = *v
		}
	}
	return out
}

func slimProjections(ps []corev1.VolumeProjection) []corev1.VolumeProjection {
	var out []corev1.VolumeProjection
	for i := range ps {
		switch s := &ps[i]; {
		case s.ConfigMap != nil:
			out = append(out, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: s.ConfigMap.LocalObjectReference}})
		case s.Secret != nil:
			out = append(out, corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: s.Secret.LocalObjectReference}})
		}
	}
	return out
}

func slimContainers(cs []corev1.Container) []corev1.Container {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i := range cs {
		out[i] = corev1.Container{
			Name:         cs[i].Name,
			VolumeMounts: slimMounts(cs[i].VolumeMounts),
			EnvFrom:      slimEnvFrom(cs[i].EnvFrom),
			Env:          slimEnv(cs[i].Env),
		}
	}
	return out
}

func slimEphemeral(cs []corev1.EphemeralContainer) []corev1.EphemeralContainer {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.EphemeralContainer, len(cs))
	for i := range cs {
		c := &cs[i].EphemeralContainerCommon
		out[i].EphemeralContainerCommon = corev1.EphemeralContainerCommon{
			Name: c.Name, VolumeMounts: slimMounts(c.VolumeMounts), EnvFrom: slimEnvFrom(c.EnvFrom), Env: slimEnv(c.Env),
		}
	}
	return out
}

func slimMounts(ms []corev1.VolumeMount) []corev1.VolumeMount {
	if len(ms) == 0 {
		return nil
	}
	out := make([]corev1.VolumeMount, len(ms))
	for i := range ms {
		out[i] = corev1.VolumeMount{Name: ms[i].Name, MountPath: ms[i].MountPath, ReadOnly: ms[i].ReadOnly}
	}
	return out
}

func slimEnvFrom(es []corev1.EnvFromSource) []corev1.EnvFromSource {
	var out []corev1.EnvFromSource
	for i := range es {
		var o corev1.EnvFromSource
		if r := es[i].ConfigMapRef; r != nil {
			o.ConfigMapRef = &corev1.ConfigMapEnvSource{LocalObjectReference: r.LocalObjectReference}
		}
		if r := es[i].SecretRef; r != nil {
			o.SecretRef = &corev1.SecretEnvSource{LocalObjectReference: r.LocalObjectReference}
		}
		if o.ConfigMapRef != nil || o.SecretRef != nil {
			out = append(out, o)
		}
	}
	return out
}

// slimEnv keeps the variables that take their value from a ConfigMap or a
// Secret, as references only: a literal value is never kept.
func slimEnv(es []corev1.EnvVar) []corev1.EnvVar {
	var out []corev1.EnvVar
	for i := range es {
		from := es[i].ValueFrom
		if from == nil {
			continue
		}
		var src corev1.EnvVarSource
		if r := from.ConfigMapKeyRef; r != nil {
			src.ConfigMapKeyRef = &corev1.ConfigMapKeySelector{LocalObjectReference: r.LocalObjectReference}
		}
		if r := from.SecretKeyRef; r != nil {
			src.SecretKeyRef = &corev1.SecretKeySelector{LocalObjectReference: r.LocalObjectReference}
		}
		if src.ConfigMapKeyRef != nil || src.SecretKeyRef != nil {
			out = append(out, corev1.EnvVar{Name: es[i].Name, ValueFrom: &src})
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
