package clusteragent

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// strip drops what the mapping never reads before an object enters the
// informer cache: it keeps memory flat at scale, and it means values such as
// literal environment variables (which may hold credentials) are never kept.
func strip(obj any) (any, error) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tomb, nil
	}
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		m.SetAnnotations(nil)
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		stripContainers(o.Spec.InitContainers)
		stripContainers(o.Spec.Containers)
		o.Spec.EphemeralContainers = nil
		o.Spec.Affinity = nil
		o.Spec.Tolerations = nil
		o.Status.Conditions = nil
		o.Status.InitContainerStatuses = nil
		o.Status.EphemeralContainerStatuses = nil
	case *corev1.Node:
		o.Status.Images = nil
		o.Status.VolumesInUse = nil
		o.Status.VolumesAttached = nil
		o.Status.Conditions = nil
	}
	return obj, nil
}

func stripContainers(cs []corev1.Container) {
	for i := range cs {
		c := &cs[i]
		for k := range c.Env {
			c.Env[k].Value = ""
		}
		c.Command, c.Args = nil, nil
		c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = nil, nil, nil
		c.SecurityContext = nil
		c.Lifecycle = nil
	}
}
