package clusteragent

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// podLite is what the pods informer caches instead of a Pod: pods are by far
// the most numerous objects, and a corev1.Pod is large even when most of its
// fields are empty (the struct alone is 1.2 KB, a Container 0.4 KB, a Volume
// 0.25 KB). podLite keeps what kubetopo reads, in a seventh of the memory of
// the decoded pod; Pod rebuilds a slim Pod from it for the mapping, the
// selector join and the OOM synthesis whenever the pod changes. TestSlimPodMapsAlike proves
// what they derive from the rebuilt pod equals what they derive from the
// full one.
type podLite struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	nodeName   string
	phase      corev1.PodPhase
	volumes    []liteVolume
	containers []liteContainer
	oom        *liteOOM // nil unless a container was OOM-killed
}

const (
	volOther uint8 = iota // the whole source is in liteVolume.other
	volConfigMap
	volSecret
	volClaim
	volEphemeral
	volProjected
	volEmptyDir
	volDownwardAPI
)

type liteVolume struct {
	name      string
	kind      uint8
	ref       string    // the ConfigMap, Secret or claim
	projected []liteRef // a projected volume's ConfigMaps and Secrets, in order
	other     *corev1.VolumeSource
}

const (
	refConfigMap uint8 = iota // a projected ConfigMap
	refSecret                 // a projected Secret
	refEnvFromConfigMap
	refEnvFromSecret
	refEnvConfigMap
	refEnvSecret
)

type liteRef struct {
	kind uint8
	name string
}

const (
	setInit uint8 = iota
	setMain
	setEphemeral
)

type liteContainer struct {
	name   string
	set    uint8
	mounts []liteMount
	refs   []liteRef // envFrom, then env references, in order
}

type liteMount struct {
	name, path string
	readOnly   bool
}

type liteOOM struct {
	init, main, ephemeral []corev1.ContainerStatus
}

// newPodLite keeps of p what kubetopo reads: identity, labels and owners;
// the node and the phase; the volumes and, per container, its name, mounts
// and ConfigMap/Secret references (never a literal env value); and the
// container statuses whose termination was an OOM kill.
func newPodLite(p *corev1.Pod) *podLite {
	l := &podLite{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			CreationTimestamp: p.CreationTimestamp, DeletionTimestamp: p.DeletionTimestamp,
			Labels: p.Labels, OwnerReferences: p.OwnerReferences,
		},
		nodeName: p.Spec.NodeName, phase: p.Status.Phase,
	}
	if len(p.Spec.Volumes) > 0 {
		l.volumes = make([]liteVolume, len(p.Spec.Volumes))
		for i := range p.Spec.Volumes {
			l.volumes[i] = liteVolumeOf(&p.Spec.Volumes[i])
		}
	}
	n := len(p.Spec.InitContainers) + len(p.Spec.Containers) + len(p.Spec.EphemeralContainers)
	if n > 0 {
		l.containers = make([]liteContainer, 0, n)
		for i := range p.Spec.InitContainers {
			l.containers = append(l.containers, liteContainerOf(setInit, &p.Spec.InitContainers[i]))
		}
		for i := range p.Spec.Containers {
			l.containers = append(l.containers, liteContainerOf(setMain, &p.Spec.Containers[i]))
		}
		for i := range p.Spec.EphemeralContainers {
			c := corev1.Container(p.Spec.EphemeralContainers[i].EphemeralContainerCommon)
			l.containers = append(l.containers, liteContainerOf(setEphemeral, &c))
		}
	}
	oom := liteOOM{
		init: oomStatuses(p.Status.InitContainerStatuses), main: oomStatuses(p.Status.ContainerStatuses),
		ephemeral: oomStatuses(p.Status.EphemeralContainerStatuses),
	}
	if oom.init != nil || oom.main != nil || oom.ephemeral != nil {
		l.oom = &oom
	}
	return l
}

func liteVolumeOf(v *corev1.Volume) liteVolume {
	o := liteVolume{name: v.Name}
	switch src := &v.VolumeSource; {
	case src.ConfigMap != nil:
		o.kind, o.ref = volConfigMap, src.ConfigMap.Name
	case src.Secret != nil:
		o.kind, o.ref = volSecret, src.Secret.SecretName
	case src.PersistentVolumeClaim != nil:
		o.kind, o.ref = volClaim, src.PersistentVolumeClaim.ClaimName
	case src.Ephemeral != nil:
		o.kind = volEphemeral
	case src.Projected != nil:
		o.kind = volProjected
		for _, p := range src.Projected.Sources {
			switch {
			case p.ConfigMap != nil:
				o.projected = append(o.projected, liteRef{refConfigMap, p.ConfigMap.Name})
			case p.Secret != nil:
				o.projected = append(o.projected, liteRef{refSecret, p.Secret.Name})
			}
		}
	case src.EmptyDir != nil:
		o.kind = volEmptyDir
	case src.DownwardAPI != nil:
		o.kind = volDownwardAPI
	default:
		// Host paths and the rarer sources (NFS, CSI, cloud disks ...)
		// name external volumes by their fields: kept whole.
		other := *src
		o.kind, o.other = volOther, &other
	}
	return o
}

func liteContainerOf(set uint8, c *corev1.Container) liteContainer {
	o := liteContainer{name: c.Name, set: set}
	if len(c.VolumeMounts) > 0 {
		o.mounts = make([]liteMount, len(c.VolumeMounts))
		for i, m := range c.VolumeMounts {
			o.mounts[i] = liteMount{name: m.Name, path: m.MountPath, readOnly: m.ReadOnly}
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			o.refs = append(o.refs, liteRef{refEnvFromConfigMap, ef.ConfigMapRef.Name})
		}
		if ef.SecretRef != nil {
			o.refs = append(o.refs, liteRef{refEnvFromSecret, ef.SecretRef.Name})
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue // a literal value: never kept
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			o.refs = append(o.refs, liteRef{refEnvConfigMap, r.Name})
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			o.refs = append(o.refs, liteRef{refEnvSecret, r.Name})
		}
	}
	return o
}

// Pod rebuilds a Pod with what podLite keeps.
func (l *podLite) Pod() *corev1.Pod {
	p := &corev1.Pod{TypeMeta: l.TypeMeta, ObjectMeta: l.ObjectMeta}
	p.Spec.NodeName, p.Status.Phase = l.nodeName, l.phase
	if len(l.volumes) > 0 {
		p.Spec.Volumes = make([]corev1.Volume, len(l.volumes))
		for i := range l.volumes {
			p.Spec.Volumes[i] = l.volumes[i].volume()
		}
	}
	for i := range l.containers {
		c := l.containers[i].container()
		switch l.containers[i].set {
		case setInit:
			p.Spec.InitContainers = append(p.Spec.InitContainers, c)
		case setMain:
			p.Spec.Containers = append(p.Spec.Containers, c)
		case setEphemeral:
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon(c)})
		}
	}
	if l.oom != nil {
		p.Status.InitContainerStatuses, p.Status.ContainerStatuses, p.Status.EphemeralContainerStatuses = l.oom.init, l.oom.main, l.oom.ephemeral
	}
	return p
}

func (v *liteVolume) volume() corev1.Volume {
	o := corev1.Volume{Name: v.name}
	switch v.kind {
	case volConfigMap:
		o.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.ref}}
	case volSecret:
		o.Secret = &corev1.SecretVolumeSource{SecretName: v.ref}
	case volClaim:
		o.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.ref}
	case volEphemeral:
		o.Ephemeral = &corev1.EphemeralVolumeSource{}
	case volProjected:
		o.Projected = &corev1.ProjectedVolumeSource{}
		for _, r := range v.projected {
			ref := corev1.LocalObjectReference{Name: r.name}
			if r.kind == refConfigMap {
				o.Projected.Sources = append(o.Projected.Sources, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: ref}})
			} else {
				o.Projected.Sources = append(o.Projected.Sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: ref}})
			}
		}
	case volEmptyDir:
		o.EmptyDir = &corev1.EmptyDirVolumeSource{}
	case volDownwardAPI:
		o.DownwardAPI = &corev1.DownwardAPIVolumeSource{}
	default:
		o.VolumeSource = *v.other
	}
	return o
}

func (c *liteContainer) container() corev1.Container {
	o := corev1.Container{Name: c.name}
	if len(c.mounts) > 0 {
		o.VolumeMounts = make([]corev1.VolumeMount, len(c.mounts))
		for i, m := range c.mounts {
			o.VolumeMounts[i] = corev1.VolumeMount{Name: m.name, MountPath: m.path, ReadOnly: m.readOnly}
		}
	}
	for _, r := range c.refs {
		ref := corev1.LocalObjectReference{Name: r.name}
		switch r.kind {
		case refEnvFromConfigMap:
			o.EnvFrom = append(o.EnvFrom, corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: ref}})
		case refEnvFromSecret:
			o.EnvFrom = append(o.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref}})
		case refEnvConfigMap:
			o.Env = append(o.Env, corev1.EnvVar{ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: ref}}})
		case refEnvSecret:
			o.Env = append(o.Env, corev1.EnvVar{ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: ref}}})
		}
	}
	return o
}

// asPod returns the pod an informer object stands for: a cached podLite
// rebuilt, a Pod as it is.
func asPod(obj any) (*corev1.Pod, bool) {
	switch p := obj.(type) {
	case *podLite:
		return p.Pod(), true
	case *corev1.Pod:
		return p, true
	}
	return nil, false
}

// DeepCopyObject implements runtime.Object. Nothing in podLite is changed
// after the transform made it; the copy shares the read-only slices.
func (l *podLite) DeepCopyObject() runtime.Object {
	c := *l
	l.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}
