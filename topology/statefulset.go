package topology

import appsv1 "k8s.io/api/apps/v1"

// MapStatefulSet maps a StatefulSet; its namespace always encloses it.
func MapStatefulSet(u URNs, o *appsv1.StatefulSet) Result {
	var r Result
	c := objectComponent(u, TypeStatefulSet, o, Label{"statefulset", o.Name})
	r.add(c)
	r.enclosedBy(u, c)
	return r
}
