package topology

import appsv1 "k8s.io/api/apps/v1"

// MapReplicaSet maps a ReplicaSet: its Deployment controls it, or, when it has
// none, its namespace encloses it.
func MapReplicaSet(u URNs, rs *appsv1.ReplicaSet) Result {
	var r Result
	c := objectComponent(u, TypeReplicaSet, rs, Label{"replicaset", rs.Name})
	r.add(c)
	if typ, owner, ok := modelledOwner(u, rs); ok && typ == TypeDeployment {
		r.relate(RelControls, typ, owner, c.Type, c.URN)
	} else {
		r.enclosedBy(u, c)
	}
	return r
}
