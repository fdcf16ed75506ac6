package topology

import corev1 "k8s.io/api/core/v1"

// MapNode maps a Node to its component, which belongs to the cluster.
func MapNode(u URNs, n *corev1.Node) Result {
	var r Result
	c := objectComponent(u, TypeNode, n, Label{"node", n.Name})
	r.add(c)
	r.relate(RelBelongsTo, TypeNode, c.URN, TypeCluster, u.Cluster())
	return r
}

// ClusterComponent is the component of the cluster itself; it exists as long
// as the agent runs.
func ClusterComponent(u URNs) Component {
	return Component{URN: u.Cluster(), Type: TypeCluster, Name: u.ClusterName()}
}
