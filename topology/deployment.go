package topology

import appsv1 "k8s.io/api/apps/v1"

// MapDeployment maps a Deployment; its namespace always encloses it.
func MapDeployment(u URNs, o *appsv1.Deployment) Result {
	var r Result
	c := objectComponent(u, TypeDeployment, o, Label{"deployment", o.Name})
	r.add(c)
	r.enclosedBy(u, c)
	return r
}
