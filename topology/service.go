package topology

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// MapService maps a Service. A Service of type ExternalName is also an
// external-service component that the Service uses. Which pods a Service
// exposes depends on other objects, so it is not declared here: see
// ServiceSelector and ExposesPod.
func MapService(u URNs, s *corev1.Service) Result {
	var r Result
	c := objectComponent(u, TypeService, s, Label{"service", s.Name})
	r.add(c)
	r.enclosedBy(u, c)
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		ext := objectComponent(u, TypeExternalService, s, Label{"service", s.Name})
		r.add(ext)
		r.relate(RelUses, TypeService, c.URN, TypeExternalService, ext.URN)
	}
	return r
}

// ServiceSelector returns the selector of the pods a Service exposes, or nil
// when it selects none (no selector, or type ExternalName, whose selector
// Kubernetes ignores).
func ServiceSelector(s *corev1.Service) labels.Selector {
	if s.Spec.Type == corev1.ServiceTypeExternalName || len(s.Spec.Selector) == 0 {
		return nil
	}
	return labels.SelectorFromValidatedSet(s.Spec.Selector)
}

// ExposesPod is the relation service → pod, for a Service whose selector
// matches the pod in its namespace.
func ExposesPod(u URNs, namespace, service, pod string) Relation {
	return Relation{
		Type:       RelExposes,
		Source:     u.Object(TypeService, namespace, service),
		SourceType: TypeService,
		Target:     u.Object(TypePod, namespace, pod),
		TargetType: TypePod,
	}
}
