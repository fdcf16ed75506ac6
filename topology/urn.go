package topology

import "strings"

// URNs builds component identities for one cluster, with StackState's
// grammar:
//
//	prefix            = "urn:kubernetes:/" + cluster
//	namespaced object = prefix + ":" + namespace + ":" + kind + "/" + name
//	cluster-scoped    = prefix + ":" + kind + "/" + name
//	container         = podURN + ":container/" + containerName
//	cluster           = "urn:cluster:/kubernetes:" + cluster
//	endpoint          = "urn:endpoint:/" + cluster + ":" + ipOrHost
//	external volume   = "urn:kubernetes:external-volume:" + volumeType + "/" + join(parts, "/")
type URNs struct {
	cluster string
	prefix  string
}

// NewURNs returns the URN builder for the named cluster.
func NewURNs(cluster string) URNs {
	return URNs{cluster: cluster, prefix: "urn:kubernetes:/" + cluster}
}

// ClusterName is the cluster name every URN carries.
func (u URNs) ClusterName() string { return u.cluster }

// Cluster is the URN of the cluster component.
func (u URNs) Cluster() string { return "urn:cluster:/kubernetes:" + u.cluster }

// Object is the URN of a Kubernetes object of the given kubetopo kind
// ("pod", "persistent-volume", ...). An empty namespace makes it cluster-scoped.
func (u URNs) Object(kind, namespace, name string) string {
	if namespace == "" {
		return u.prefix + ":" + kind + "/" + name
	}
	return u.prefix + ":" + namespace + ":" + kind + "/" + name
}

// Container is the URN of a container of a pod.
func (u URNs) Container(namespace, pod, container string) string {
	return u.Object(TypePod, namespace, pod) + ":container/" + container
}

// Endpoint is the URN of an ingress load-balancer address (IP or host name).
func (u URNs) Endpoint(ipOrHost string) string {
	return "urn:endpoint:/" + u.cluster + ":" + ipOrHost
}

// ExternalVolume is the URN of storage that lives outside the cluster's
// objects (an NFS export, a cloud disk, a CSI volume, a host path). It does
// not carry the cluster name: the same disk is the same component wherever it
// is seen from, as in StackState.
func ExternalVolume(volumeType string, parts ...string) string {
	return "urn:kubernetes:external-volume:" + volumeType + "/" + strings.Join(parts, "/")
}
