package dashgen

import (
	"fmt"
	"strings"
)

func workload() Dashboard {
	sel := `{C}, {NS1}, workload="$workload"`
	pods := `max by (namespace, pod) (namespace_workload_pod:kubetopo_pod_owner:relabel{` + sel + `})`
	ofPods := func(expr string) string { return expr + "\n  * on (namespace, pod) group_left () " + pods }
	rec := func(r string) string {
		return `max(namespace_workload:kubetopo_replicas_` + r + `:relabel{` + sel + `})`
	}
	return Dashboard{UID: UIDWorkload, Title: "Kubernetes - Workload",
		Description: "One workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, CronJob, Job): desired vs ready, its pods, the services that expose them, resources and events.",
		Vars: []Var{varCluster(), varNamespaceOne(),
			{Name: "workload", Label: "Workload", Query: `label_values(namespace_workload:kubetopo_component_info:relabel{cluster="$cluster", namespace="$namespace"}, workload)`},
			{Name: "urn", Label: "URN", Hidden: true, Query: `label_values(namespace_workload:kubetopo_component_info:relabel{cluster="$cluster", namespace="$namespace", workload="$workload"}, urn)`}},
		Links: append([]Link{
			showPods("${namespace}", "${workload}"), showWorkloadServices("${namespace}", "${workload}"), showDependencies("${urn}"),
			openNamespace("${namespace}")}, viewLinks()...),
		Panels: []Panel{
			stat(1, "Desired", rec("desired"), ""),
			stat(2, "Ready", rec("ready"), ""),
			stat(3, "Available", rec("available"), ""),
			stat(4, "Updated", rec("updated"), ""),
			{ID: 5, Kind: Stat, Title: "Desired vs ready", W: 4, H: 4, States: HealthStates(), Queries: qs(rec("health"), "")},
			{ID: 6, Kind: Stat, Title: "Health state (receiver)", W: 4, H: 4,
				Description: "kubetopo_component_health_state from the receiver; empty until one is deployed.",
				Queries:     qs(`max by (state) (kubetopo_component_health_state{{C}, urn="$urn"} == 1)`, "{{state}}")},
			{ID: panelWorkloadPods, Kind: Table, Title: "Pods", W: 24, H: 8,
				Queries: qs(
					ofPods(`max by (namespace, pod, node) (kube_pod_info{{C}, {NS1}})`), "",
					ofPods(`max by (namespace, pod, phase) (kube_pod_status_phase{{C}, {NS1}} == 1)`), "",
					ofPods(`max by (namespace, pod) (kube_pod_status_ready{{C}, {NS1}, condition="true"})`), "ready",
					ofPods(`sum by (namespace, pod) (kube_pod_container_status_restarts_total{{C}, {NS1}})`), "restarts"),
				ColumnLinks: map[string][]Link{"pod": podColumn(), "node": nodeColumn(), "namespace": namespaceColumn()},
				Hide:        []string{"Value #A", "Value #B"}},
			{ID: panelWorkloadServices, Kind: Table, Title: "Services exposing its pods", W: 12, H: 8,
				Queries: qs(`count by (urn) (
  label_replace(kubetopo_relation_info{{C}, type="exposes", source_type="service", target_type="pod"}, "urn", "$1", "source_urn", "(.+)")
  * on (target_urn) group_left ()
    label_replace(max by (pod_urn) (namespace_workload_pod:kubetopo_pod_owner:relabel{`+sel+`}), "target_urn", "$1", "pod_urn", "(.+)")
)`, "pods"),
				ColumnLinks: map[string][]Link{"urn": urnColumn()}},
			{ID: 22, Kind: Table, Title: "Direct relations", W: 12, H: 8,
				Queries: qs(`max by (type, source_urn, target_urn) (kubetopo_relation_info{{C}, source_urn="$urn"} or kubetopo_relation_info{{C}, target_urn="$urn"})`, ""),
				Hide:    []string{"Value"}},
			{ID: 23, Kind: TimeSeries, Title: "Ready vs desired", W: 12, H: 8,
				Queries: qs(rec("desired"), "desired", rec("ready"), "ready", rec("available"), "available")},
			{ID: 24, Kind: TimeSeries, Title: "Container restarts (10m)", W: 12, H: 8,
				Queries: qs(`max(namespace_workload:kube_pod_container_status_restarts:increase10m{`+sel+`})`, "restarts")},
			{ID: 25, Kind: TimeSeries, Title: "CPU requests and limits", W: 12, H: 8,
				Queries: qs(`sum(`+ofPods(`sum by (namespace, pod) (kube_pod_container_resource_requests{{C}, {NS1}, resource="cpu"})`)+`)`, "requests",
					`sum(`+ofPods(`sum by (namespace, pod) (kube_pod_container_resource_limits{{C}, {NS1}, resource="cpu"})`)+`)`, "limits")},
			{ID: 26, Kind: TimeSeries, Title: "Memory requests and limits", W: 12, H: 8, Unit: "bytes",
				Queries: qs(`sum(`+ofPods(`sum by (namespace, pod) (kube_pod_container_resource_requests{{C}, {NS1}, resource="memory"})`)+`)`, "requests",
					`sum(`+ofPods(`sum by (namespace, pod) (kube_pod_container_resource_limits{{C}, {NS1}, resource="memory"})`)+`)`, "limits")},
			{ID: 27, Kind: TimeSeries, Title: "CPU usage (cAdvisor)", W: 12, H: 8,
				Description: "container_cpu_usage_seconds_total from the kubelets' cAdvisor (or the node agent); empty when not scraped.",
				Queries:     qs(`sum(`+ofPods(`sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{{C}, {NS1}, container!=""}[$__rate_interval]))`)+`)`, "cpu")},
			{ID: 28, Kind: TimeSeries, Title: "Memory working set (cAdvisor)", W: 12, H: 8, Unit: "bytes",
				Description: "container_memory_working_set_bytes from the kubelets' cAdvisor (or the node agent); empty when not scraped.",
				Queries:     qs(`sum(`+ofPods(`sum by (namespace, pod) (container_memory_working_set_bytes{{C}, {NS1}, container!=""})`)+`)`, "working set")},
			eventsPanel(29, `urn=~"$urn|urn:kubernetes:/$cluster:$namespace:pod/$workload-.*"`),
		}}
}

func pod() Dashboard {
	sel := `{C}, {NS1}, pod="$pod"`
	ctr := sel + `, container=~"$container"`
	return Dashboard{UID: UIDPod, Title: "Kubernetes - Pod",
		Description: "One pod and its containers: state, workload, node, configuration and storage, resources and events.",
		Vars: []Var{varCluster(), varNamespaceOne(),
			{Name: "pod", Label: "Pod", Query: `label_values(kubetopo_component_info{cluster="$cluster", namespace="$namespace", type="pod"}, pod)`},
			{Name: "container", Label: "Container", All: true, Query: `label_values(kubetopo_component_info{cluster="$cluster", namespace="$namespace", type="container", pod="$pod"}, container)`},
			{Name: "pod_urn", Label: "Pod URN", Hidden: true, Query: `label_values(kubetopo_component_info{cluster="$cluster", namespace="$namespace", type="pod", pod="$pod"}, urn)`},
			{Name: "node", Label: "Node", Hidden: true, Query: `label_values(kube_pod_info{cluster="$cluster", namespace="$namespace", pod="$pod"}, node)`}},
		Links: append([]Link{showConfig("${namespace}", "${pod}"), showDependencies("${pod_urn}"), openNode("${node}"), openNamespace("${namespace}")}, viewLinks()...),
		Panels: []Panel{
			stat(1, "Phase", `max by (phase) (kube_pod_status_phase{`+sel+`} == 1)`, "{{phase}}"),
			stat(2, "Ready", `max(kube_pod_status_ready{`+sel+`, condition="true"})`, ""),
			stat(3, "Node", `max by (node) (kube_pod_info{`+sel+`})`, "{{node}}"),
			{ID: 4, Kind: Stat, Title: "Workload", W: 4, H: 4,
				Queries:     qs(`max by (workload_type, workload) (namespace_workload_pod:kubetopo_pod_owner:relabel{`+sel+`})`, "{{workload_type}}/{{workload}}"),
				ColumnLinks: map[string][]Link{"": {openWorkload("${namespace}", "${__field.labels.workload}")}}},
			stat(5, "Restarts", `sum(kube_pod_container_status_restarts_total{`+ctr+`})`, ""),
			{ID: 6, Kind: Stat, Title: "Health state (receiver)", W: 4, H: 4,
				Description: "kubetopo_component_health_state from the receiver; empty until one is deployed.",
				Queries:     qs(`max by (state) (kubetopo_component_health_state{{C}, urn="$pod_urn"} == 1)`, "{{state}}")},
			{ID: 7, Kind: Table, Title: "Containers", W: 24, H: 6,
				Queries: qs(
					`max by (container, image) (kube_pod_container_info{`+ctr+`})`, "",
					`max by (container) (kube_pod_container_status_ready{`+ctr+`})`, "ready",
					`max by (container) (kube_pod_container_status_running{`+ctr+`})`, "running",
					`sum by (container) (kube_pod_container_status_restarts_total{`+ctr+`})`, "restarts"),
				Hide: []string{"Value #A"}},
			{ID: panelPodConfig, Kind: Table, Title: "Configuration and storage", W: 24, H: 8,
				Description: "What the pod and its containers use: ConfigMaps and Secrets (envFrom, env valueFrom, volumes), volumes and claims, mounts with their paths, and the PersistentVolumes behind the claims.",
				Queries: qs(
					`max by (type, source_urn, target_type, target_urn) (kubetopo_relation_info{{C}, source_urn="$pod_urn", type=~"uses|uses_value|claims"})`, "",
					`max by (type, source_urn, target_type, target_urn, mount_path, read_only) (kubetopo_relation_info{{C}, type="mounts", source_urn=~"$pod_urn:container/($container)"})`, "",
					`max by (type, source_urn, target_type, target_urn) (
  kubetopo_relation_info{{C}, type="exposes", source_type=~"persistent-volume-claim|persistent-volume"}
  * on (source_urn) group_left ()
    max by (source_urn) (label_replace(kubetopo_relation_info{{C}, source_urn="$pod_urn", type="claims"}, "source_urn", "$1", "target_urn", "(.+)"))
)`, ""),
				Hide: []string{"Value #A", "Value #B", "Value #C"}},
			{ID: 21, Kind: Table, Title: "Services exposing the pod", W: 12, H: 6,
				Queries: qs(`max by (source_urn) (kubetopo_relation_info{{C}, type="exposes", target_urn="$pod_urn"})`, ""),
				Hide:    []string{"Value"}},
			{ID: 22, Kind: Table, Title: "Container states: waiting and terminated reasons", W: 12, H: 6,
				Description: "kube-state-metrics exports these only for containers that wait or have terminated; a pod whose containers all run has none.",
				Queries: qs(`max by (container, reason) (kube_pod_container_status_waiting_reason{`+ctr+`} == 1)`, "waiting",
					`max by (container, reason) (kube_pod_container_status_terminated_reason{`+ctr+`} == 1)`, "terminated")},
			{ID: 23, Kind: TimeSeries, Title: "CPU requests and limits", W: 12, H: 8,
				Queries: qs(`sum by (container) (kube_pod_container_resource_requests{`+ctr+`, resource="cpu"})`, "{{container}} request",
					`sum by (container) (kube_pod_container_resource_limits{`+ctr+`, resource="cpu"})`, "{{container}} limit")},
			{ID: 24, Kind: TimeSeries, Title: "Memory requests and limits", W: 12, H: 8, Unit: "bytes",
				Queries: qs(`sum by (container) (kube_pod_container_resource_requests{`+ctr+`, resource="memory"})`, "{{container}} request",
					`sum by (container) (kube_pod_container_resource_limits{`+ctr+`, resource="memory"})`, "{{container}} limit")},
			{ID: 25, Kind: TimeSeries, Title: "CPU usage (cAdvisor)", W: 12, H: 8,
				Description: "From the kubelets' cAdvisor (or the node agent); empty when not scraped.",
				Queries:     qs(`sum by (container) (rate(container_cpu_usage_seconds_total{`+ctr+`, container!=""}[$__rate_interval]))`, "{{container}}")},
			{ID: 26, Kind: TimeSeries, Title: "Memory working set (cAdvisor)", W: 12, H: 8, Unit: "bytes",
				Description: "From the kubelets' cAdvisor (or the node agent); empty when not scraped.",
				Queries:     qs(`sum by (container) (container_memory_working_set_bytes{`+ctr+`, container!=""})`, "{{container}}")},
			eventsPanel(27, `urn=~"$pod_urn(:container/.*)?"`),
		}}
}

func node() Dashboard {
	sel := `{C}, node="$node"`
	return Dashboard{UID: UIDNode, Title: "Kubernetes - Node",
		Description: "One node: conditions, capacity and requests, the pods scheduled on it, attached volumes, kubelet series and events.",
		Vars: []Var{varCluster(),
			{Name: "node", Label: "Node", Query: `label_values(kubetopo_component_info{cluster="$cluster", type="node"}, node)`},
			{Name: "node_urn", Label: "Node URN", Hidden: true, Query: `label_values(kubetopo_component_info{cluster="$cluster", type="node", node="$node"}, urn)`}},
		Links: append([]Link{showDependencies("${node_urn}")}, viewLinks()...),
		Panels: []Panel{
			stat(1, "Ready", `max(kube_node_status_condition{`+sel+`, condition="Ready", status="true"})`, ""),
			stat(2, "Unschedulable", `max(kube_node_spec_unschedulable{`+sel+`})`, ""),
			stat(3, "Pods", `count(kubetopo_relation_info{{C}, type="scheduled_on", target_urn="$node_urn"})`, ""),
			stat(4, "Pod capacity", `max(kube_node_status_capacity{`+sel+`, resource="pods"})`, ""),
			{ID: 5, Kind: Stat, Title: "Health state (receiver)", W: 4, H: 4,
				Description: "kubetopo_component_health_state from the receiver; empty until one is deployed.",
				Queries:     qs(`max by (state) (kubetopo_component_health_state{{C}, urn="$node_urn"} == 1)`, "{{state}}")},
			{ID: 6, Kind: Table, Title: "Conditions", W: 12, H: 6,
				Queries: qs(`max by (condition, status) (kube_node_status_condition{`+sel+`} == 1)`, ""), Hide: []string{"Value"}},
			{ID: 7, Kind: Table, Title: "Node info", W: 12, H: 6,
				Queries: qs(`max by (kubelet_version, kernel_version, container_runtime_version, os_image, pod_cidr) (kube_node_info{`+sel+`})`, ""), Hide: []string{"Value"}},
			{ID: 20, Kind: Table, Title: "Pods on this node", W: 24, H: 8,
				Queries: qs(`max by (namespace, pod, workload, workload_type) (
  label_replace(kubetopo_relation_info{{C}, type="scheduled_on", target_urn="$node_urn"}, "pod_urn", "$1", "source_urn", "(.+)")
  * on (pod_urn) group_left (namespace, pod, workload, workload_type)
    namespace_workload_pod:kubetopo_pod_owner:relabel{{C}}
)`, ""),
				ColumnLinks: map[string][]Link{"pod": podColumn(), "workload": workloadColumn(), "namespace": namespaceColumn()}, Hide: []string{"Value"}},
			{ID: 21, Kind: TimeSeries, Title: "CPU: allocatable vs requested", W: 12, H: 8,
				Queries: qs(`max(kube_node_status_allocatable{`+sel+`, resource="cpu"})`, "allocatable",
					`sum(kube_pod_container_resource_requests{`+sel+`, resource="cpu"})`, "requested")},
			{ID: 22, Kind: TimeSeries, Title: "Memory: allocatable vs requested", W: 12, H: 8, Unit: "bytes",
				Queries: qs(`max(kube_node_status_allocatable{`+sel+`, resource="memory"})`, "allocatable",
					`sum(kube_pod_container_resource_requests{`+sel+`, resource="memory"})`, "requested")},
			{ID: 23, Kind: Table, Title: "Attached persistent volumes", W: 12, H: 6,
				Description: "exposes relations node → persistent-volume, from VolumeAttachments; empty when no attachable (CSI) volume is attached.",
				Queries:     qs(`max by (target_urn) (kubetopo_relation_info{{C}, type="exposes", source_urn="$node_urn"})`, ""), Hide: []string{"Value"}},
			{ID: 24, Kind: TimeSeries, Title: "Running pods and containers (kubelet)", W: 12, H: 6,
				Description: "The kubelet's own series (or the node agent's republished ones); empty when the kubelets are not scraped.",
				Queries:     qs(`max(kubelet_running_pods{`+sel+`})`, "pods", `sum(kubelet_running_containers{`+sel+`, container_state="running"})`, "containers")},
			eventsPanel(25, `urn="$node_urn"`),
		}}
}

func namespace() Dashboard {
	inNS := `"urn:kubernetes:/$cluster:$namespace:.*"`
	count := func(id int, title, typ string) Panel {
		return stat(id, title, `sum(namespace_type:kubetopo_components:count{{C}, {NS1}, type=~"`+typ+`"}) or vector(0)`, "")
	}
	return Dashboard{UID: UIDNamespace, Title: "Kubernetes - Namespace",
		Description: "One namespace: its workloads, pods and services, configuration, claims, requests, quotas and events.",
		Vars: []Var{varCluster(), varNamespaceOne(),
			{Name: "namespace_urn", Label: "Namespace URN", Hidden: true, Query: `label_values(kubetopo_component_info{cluster="$cluster", type="namespace", namespace="$namespace"}, urn)`}},
		Links: append([]Link{showWorkloads("${namespace}"), showPodsServices("${namespace}"), showNamespaceServices("${namespace}"), showDependencies("${namespace_urn}")}, viewLinks()...),
		Panels: []Panel{
			count(1, "Workloads", "deployment|statefulset|daemonset|cronjob"),
			count(2, "Pods", "pod"),
			count(3, "Services", "service"),
			count(4, "ConfigMaps", "configmap"),
			count(5, "Secrets", "secret"),
			count(6, "PersistentVolumeClaims", "persistent-volume-claim"),
			{ID: panelNamespaceWork, Kind: Table, Title: "Workloads", W: 24, H: 8,
				Queries: qs(`max by (namespace, workload, workload_type, urn) (namespace_workload:kubetopo_component_info:relabel{{C}, {NS1}})`, "",
					`max by (namespace, workload, workload_type, urn) (namespace_workload:kubetopo_replicas_health:relabel{{C}, {NS1}})`, "health"),
				ColumnLinks: map[string][]Link{"workload": workloadColumn(), "urn": urnColumn()}, Hide: []string{"Value #A"}},
			{ID: panelNamespacePodsSvc, Kind: Table, Title: "Pods & services", W: 12, H: 10,
				Description: "Every pod with its workload, and the services that expose it.",
				Queries: qs(`max by (namespace, pod, workload, workload_type) (namespace_workload_pod:kubetopo_pod_owner:relabel{{C}, {NS1}})`, "",
					`max by (namespace, pod, service) (
  label_replace(
    label_replace(kubetopo_relation_info{{C}, type="exposes", source_type="service", target_type="pod", target_urn=~`+inNS+`}, "pod", "$1", "target_urn", ".*:pod/(.+)"),
    "service", "$1", "source_urn", ".*:service/(.+)")
)`, ""),
				ColumnLinks: map[string][]Link{"pod": podColumn(), "workload": workloadColumn()}, Hide: []string{"Value #A", "Value #B"}},
			{ID: panelNamespaceSvc, Kind: Table, Title: "Services", W: 12, H: 10,
				Queries: qs(`max by (service, urn) (kubetopo_component_info{{C}, {NS1}, type="service"})`, "",
					`count by (urn) (label_replace(kubetopo_relation_info{{C}, type="exposes", source_type="service", source_urn=~`+inNS+`}, "urn", "$1", "source_urn", "(.+)"))`, "pods"),
				ColumnLinks: map[string][]Link{"urn": urnColumn()}, Hide: []string{"Value #A"}},
			{ID: 23, Kind: Table, Title: "Ingress routes", W: 12, H: 6,
				Description: "Ingresses of the namespace and the services they route to; empty when the namespace has no Ingress.",
				Queries:     qs(`max by (source_urn, target_urn) (kubetopo_relation_info{{C}, type="routes", source_type="ingress", source_urn=~`+inNS+`})`, ""), Hide: []string{"Value"}},
			{ID: 24, Kind: Table, Title: "ConfigMaps and Secrets", W: 12, H: 6,
				Queries:     qs(`max by (type, name, urn) (kubetopo_component_info{{C}, {NS1}, type=~"configmap|secret"})`, ""),
				ColumnLinks: map[string][]Link{"urn": urnColumn()}, Hide: []string{"Value"}},
			{ID: 25, Kind: Table, Title: "PersistentVolumeClaims", W: 12, H: 6, Unit: "bytes",
				Queries: qs(`max by (persistentvolumeclaim, volumename, storageclass) (kube_persistentvolumeclaim_info{{C}, {NS1}})`, "",
					`max by (persistentvolumeclaim) (kube_persistentvolumeclaim_resource_requests_storage_bytes{{C}, {NS1}})`, "requested"),
				Hide: []string{"Value #A"}},
			{ID: 26, Kind: Table, Title: "Resource quotas", W: 12, H: 6,
				Description: "kube_resourcequota; empty when the namespace has no ResourceQuota.",
				Queries:     qs(`max by (resourcequota, resource, type) (kube_resourcequota{{C}, {NS1}})`, "")},
			{ID: 27, Kind: TimeSeries, Title: "CPU requests per workload", W: 12, H: 8,
				Queries: qs(`sum by (workload_type, workload) (
  kube_pod_container_resource_requests{{C}, {NS1}, resource="cpu"}
  * on (cluster, namespace, pod) group_left (workload, workload_type) namespace_workload_pod:kubetopo_pod_owner:relabel{{C}, {NS1}}
)`, "{{workload_type}}/{{workload}}")},
			{ID: 28, Kind: TimeSeries, Title: "Memory requests per workload", W: 12, H: 8, Unit: "bytes",
				Queries: qs(`sum by (workload_type, workload) (
  kube_pod_container_resource_requests{{C}, {NS1}, resource="memory"}
  * on (cluster, namespace, pod) group_left (workload, workload_type) namespace_workload_pod:kubetopo_pod_owner:relabel{{C}, {NS1}}
)`, "{{workload_type}}/{{workload}}")},
			healthStatePanel(29, `urn=~`+inNS),
			eventsPanel(30, `urn=~`+inNS),
		}}
}

// Depth is how far "Show dependencies (deep)" follows relations, as StackState does.
const Depth = 6

// reach is the relations reachable from $urn in exactly n hops, following
// relations from source to target (down) or target to source (up), each
// labelled with its level.
func reach(n int, down bool) string {
	from, to := "source_urn", "target_urn"
	if !down {
		from, to = to, from
	}
	expr := fmt.Sprintf(`kubetopo_relation_info{{C}, %s="$urn"}`, from)
	for i := 2; i <= n; i++ {
		// Reduce the previous level to its distinct ends before renaming:
		// relations from two sources to one target would otherwise become
		// two series with one label set.
		expr = fmt.Sprintf("kubetopo_relation_info{{C}}\n  * on (%[1]s) group_left ()\n    label_replace(max by (%[2]s) (%[3]s), \"%[1]s\", \"$1\", \"%[2]s\", \"(.+)\")",
			from, to, indent(expr))
	}
	return fmt.Sprintf(`label_replace(%s, "level", "%d", "", "")`, expr, n)
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

func levels(down bool) string {
	var parts []string
	for n := 1; n <= Depth; n++ {
		parts = append(parts, "max by (level, type, source_urn, target_urn) ("+reach(n, down)+")")
	}
	return strings.Join(parts, "\nor\n")
}

func dependencies() Dashboard {
	return Dashboard{UID: UIDDependencies, Title: "Kubernetes - Component dependencies",
		Description: fmt.Sprintf("Show dependencies (deep): every relation reachable from a component, up to %d levels, downstream (what it relates to) and upstream (what relates to it).", Depth),
		Vars: []Var{varCluster(), varNamespaceAll(),
			{Name: "urn", Label: "Component", Query: `label_values(kubetopo_component_info{cluster="$cluster", namespace=~"$namespace"}, urn)`}},
		Links: viewLinks(),
		Panels: []Panel{
			{ID: 1, Kind: Table, Title: "Component", W: 16, H: 4,
				Queries: qs(`max by (type, namespace, name, urn) (kubetopo_component_info{{C}, urn="$urn"})`, ""), Hide: []string{"Value"}},
			stat(2, "Components reached downstream", `count(count by (target_urn) (`+levels(true)+`))`, ""),
			stat(3, "Components reached upstream", `count(count by (source_urn) (`+levels(false)+`))`, ""),
			{ID: panelDepsDown, Kind: Table, Title: fmt.Sprintf("Depends on: downstream relations, %d levels", Depth), W: 24, H: 12,
				Queries: qs(levels(true), ""), Hide: []string{"Value"}},
			{ID: 21, Kind: Table, Title: fmt.Sprintf("Depended on by: upstream relations, %d levels", Depth), W: 24, H: 10,
				Queries: qs(levels(false), ""), Hide: []string{"Value"}},
			{ID: 22, Kind: Table, Title: "Health state of the reached components (receiver)", W: 24, H: 8,
				Description: "kubetopo_component_health_state of every component reached downstream; empty until a receiver is deployed.",
				Queries: qs(`max by (urn, state) (
  kubetopo_component_health_state{{C}} == 1
  and on (urn) label_replace(`+indent(levels(true))+`, "urn", "$1", "target_urn", "(.+)")
)`, ""), Hide: []string{"Value"}},
		}}
}
