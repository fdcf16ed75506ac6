// Package nodeagent is the node-specific part of kubetopo's node agent: which
// kubelet endpoints and kube-state-metrics pods to scrape on its own node,
// which component each of their series describes (its URN, byte-identical
// to the cluster agent's), and the host information of the node component.
// Scraping, rendering and serving are package republish's.
package nodeagent

import (
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubetopo/kubetopo/topology"
)

// Resolver maps series to the URN of the most specific component they
// describe. The rules match those of the receiver (internal/mapping's
// default rules), so a series means the same whether it arrives with its urn
// or without.
type Resolver struct {
	urns topology.URNs
	node string
}

// NewResolver returns the resolver for the named cluster and node.
func NewResolver(cluster, node string) *Resolver {
	return &Resolver{urns: topology.NewURNs(cluster), node: node}
}

// ksmKind is the component a kube-state-metrics family prefix describes and
// the KSM label that names the object.
type ksmKind struct {
	prefix, typ, label string
	clusterScoped      bool
}

// ksmKinds: kube_<kind>_ prefixes. Prefixes cannot shadow each other: each
// ends in '_' and no kind's name is another's followed by '_'.
var ksmKinds = []ksmKind{
	{prefix: "kube_pod_", typ: topology.TypePod, label: "pod"},
	{prefix: "kube_node_", typ: topology.TypeNode, label: "node", clusterScoped: true},
	{prefix: "kube_namespace_", typ: topology.TypeNamespace, label: "namespace", clusterScoped: true},
	{prefix: "kube_deployment_", typ: topology.TypeDeployment, label: "deployment"},
	{prefix: "kube_replicaset_", typ: topology.TypeReplicaSet, label: "replicaset"},
	{prefix: "kube_statefulset_", typ: topology.TypeStatefulSet, label: "statefulset"},
	{prefix: "kube_daemonset_", typ: topology.TypeDaemonSet, label: "daemonset"},
	{prefix: "kube_job_", typ: topology.TypeJob, label: "job_name"},
	{prefix: "kube_cronjob_", typ: topology.TypeCronJob, label: "cronjob"},
	{prefix: "kube_service_", typ: topology.TypeService, label: "service"},
	// An Endpoints object has its Service's name.
	{prefix: "kube_endpoint_", typ: topology.TypeService, label: "endpoint"},
	{prefix: "kube_ingress_", typ: topology.TypeIngress, label: "ingress"},
	{prefix: "kube_configmap_", typ: topology.TypeConfigMap, label: "configmap"},
	{prefix: "kube_secret_", typ: topology.TypeSecret, label: "secret"},
	{prefix: "kube_persistentvolumeclaim_", typ: topology.TypePersistentVolumeClaim, label: "persistentvolumeclaim"},
	{prefix: "kube_persistentvolume_", typ: topology.TypePersistentVolume, label: "persistentvolume", clusterScoped: true},
}

// ksmNamespaced are namespaced kinds kubetopo has no component for; their
// series describe something inside their namespace, the most specific
// component there is.
var ksmNamespaced = []string{
	"kube_horizontalpodautoscaler_", "kube_poddisruptionbudget_", "kube_resourcequota", "kube_limitrange",
	"kube_networkpolicy_", "kube_endpointslice_", "kube_lease_", "kube_verticalpodautoscaler_",
	"kube_replicationcontroller_", "kube_serviceaccount_", "kube_role_", "kube_rolebinding_",
}

// KSM resolves a kube-state-metrics series by its family: the object kind
// the family reports (kube_pod_* → pod, kube_pod_container_* → container,
// kube_job_* → job via job_name, ...). Cluster-scoped kinds without a
// component (StorageClass, IngressClass, CertificateSigningRequest, webhook
// configurations, VolumeAttachment) get no urn.
func (r *Resolver) KSM(family string, l labels.Labels) string {
	if strings.HasPrefix(family, "kube_pod_container_") || strings.HasPrefix(family, "kube_pod_init_container_") {
		if urn := r.container(l); urn != "" {
			return urn
		}
	}
	for _, k := range ksmKinds {
		if !strings.HasPrefix(family, k.prefix) {
			continue
		}
		name := l.Get(k.label)
		if name == "" {
			return ""
		}
		if k.clusterScoped {
			return r.urns.Object(k.typ, "", name)
		}
		ns := l.Get("namespace")
		if ns == "" {
			return ""
		}
		return r.urns.Object(k.typ, ns, name)
	}
	for _, p := range ksmNamespaced {
		if strings.HasPrefix(family, p) {
			if ns := l.Get("namespace"); ns != "" {
				return r.urns.Object(topology.TypeNamespace, "", ns)
			}
			return ""
		}
	}
	return ""
}

// kubeletNodePrefixes are the kubelet's families that describe its node when
// they name no pod: cAdvisor's machine and root/system cgroups, the kubelet's
// own kubelet_* series, /metrics/resource's node_* series and its
// resource_scrape_error and its older ALPHA twin scrape_error (both served by v1.33).
var kubeletNodePrefixes = []string{"container_", "machine_", "kubelet_", "node_cpu_usage_", "node_memory_", "node_swap_", "resource_scrape_", "scrape_error"}

// Kubelet resolves a series of the node's kubelet (/metrics, /metrics/cadvisor,
// /metrics/resource, /metrics/probes): a container when it names namespace,
// pod and container (cAdvisor's pod cgroup has container="", Docker's
// sandbox "POD": those are the pod), a PVC for kubelet_volume_stats_*, the
// node for node-level families, and nothing for the kubelet process's own
// go_*, process_*, rest_client_* ... series.
func (r *Resolver) Kubelet(family string, l labels.Labels) string {
	if strings.HasPrefix(family, "container_") || strings.HasPrefix(family, "prober_probe_") || strings.HasPrefix(family, "pod_") {
		if urn := r.container(l); urn != "" {
			return urn
		}
		if urn := r.pod(l); urn != "" {
			return urn
		}
	}
	if strings.HasPrefix(family, "kubelet_volume_stats_") {
		ns, pvc := l.Get("namespace"), l.Get("persistentvolumeclaim")
		if ns != "" && pvc != "" {
			return r.urns.Object(topology.TypePersistentVolumeClaim, ns, pvc)
		}
	}
	for _, p := range kubeletNodePrefixes {
		if strings.HasPrefix(family, p) {
			return r.urns.Object(topology.TypeNode, "", r.node)
		}
	}
	return ""
}

func (r *Resolver) container(l labels.Labels) string {
	ns, pod, c := l.Get("namespace"), l.Get("pod"), l.Get("container")
	if ns == "" || pod == "" || c == "" || c == "POD" {
		return ""
	}
	return r.urns.Container(ns, pod, c)
}

func (r *Resolver) pod(l labels.Labels) string {
	ns, pod := l.Get("namespace"), l.Get("pod")
	if ns == "" || pod == "" {
		return ""
	}
	return r.urns.Object(topology.TypePod, ns, pod)
}

// NodeURN is the URN of this agent's node.
func (r *Resolver) NodeURN() string { return r.urns.Object(topology.TypeNode, "", r.node) }
