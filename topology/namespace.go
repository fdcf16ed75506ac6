package topology

import corev1 "k8s.io/api/core/v1"

// MapNamespace maps a Namespace to its component. What it encloses is
// declared by the enclosed objects.
func MapNamespace(u URNs, ns *corev1.Namespace) Result {
	c := objectComponent(u, TypeNamespace, ns)
	c.Namespace = ns.Name // KSM's identity label for a namespace is namespace
	return Result{Components: []Component{c}}
}
