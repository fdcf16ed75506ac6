package topology

import appsv1 "k8s.io/api/apps/v1"

// MapDaemonSet maps a DaemonSet; its namespace always encloses it.
func MapDaemonSet(u URNs, o *appsv1.DaemonSet) Result {
	var r Result
	c := objectComponent(u, TypeDaemonSet, o, Label{"daemonset", o.Name})
	r.add(c)
	r.enclosedBy(u, c)
	return r
}
