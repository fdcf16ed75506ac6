package dashgen

import "strings"

// q expands the placeholders every query uses: C is the cluster matcher,
// NS the namespace matcher of a multi-value namespace variable.
func q(expr string) string {
	return strings.NewReplacer(
		"{C}", `cluster="$cluster"`,
		"{NS}", `namespace=~"$namespace"`,
		"{NS1}", `namespace="$namespace"`,
	).Replace(expr)
}

func qs(pairs ...string) []Query {
	var out []Query
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Query{Expr: q(pairs[i]), Legend: pairs[i+1]})
	}
	return out
}

func stat(id int, title, expr, legend string) Panel {
	return Panel{ID: id, Kind: Stat, Title: title, W: 4, H: 4, Queries: qs(expr, legend)}
}

// healthStatePanel reads the receiver's health state of the components a
// URN matcher selects. The receiver exports it; without one it is empty.
func healthStatePanel(id int, urnMatcher string) Panel {
	return Panel{ID: id, Kind: Table, Title: "Health state (receiver)", W: 12, H: 6,
		Description: "kubetopo_component_health_state from kubetopo's receiver (CLEAR, DEVIATING, CRITICAL, UNKNOWN, propagated along dependencies). Empty until a receiver is deployed and scraped.",
		Queries:     qs(`max by (urn, state) (kubetopo_component_health_state{{C}, `+urnMatcher+`} == 1)`, ""),
		ColumnLinks: map[string][]Link{"urn": urnColumn()}, Hide: []string{"Value"}}
}

// eventsPanel counts kubetopo_events_total over the dashboard's range.
func eventsPanel(id int, urnMatcher string) Panel {
	return Panel{ID: id, Kind: Table, Title: "Events", W: 12, H: 8,
		Description: "Kubernetes events the cluster agent counted in kubetopo_events_total during the time range, per component, category and reason.",
		Queries:     qs(`sum by (urn, category, reason, type) (`+eventsIn(`{C}, `+urnMatcher, "$__range")+`) > 0`, ""),
		ColumnLinks: map[string][]Link{"urn": urnColumn()}}
}

// eventsIn is the number of events counted in kubetopo_events_total during
// the window before now. Unlike increase(), it counts the occurrences of a
// reason that first appeared within the window (a series born at 1 and
// never incremented, as most events are); an agent restart within the
// window undercounts.
func eventsIn(matchers, window string) string {
	c := "kubetopo_events_total{" + matchers + "}"
	return "clamp_min(" + c + " - (" + c + " offset " + window + " or " + c + " * 0), 0)"
}

// workloadTable is desired/ready/available/health of the workloads a
// matcher selects, from the unified recording rules.
func workloadTable(id int, title, match string) Panel {
	rec := func(r string) string {
		return `max by (namespace, workload, workload_type, urn) (namespace_workload:kubetopo_replicas_` + r + `:relabel{{C}, ` + match + `})`
	}
	return Panel{ID: id, Kind: Table, Title: title, W: 24, H: 8,
		Queries:     qs(rec("desired"), "desired", rec("ready"), "ready", rec("available"), "available", rec("health"), "health"),
		ColumnLinks: map[string][]Link{"workload": workloadColumn(), "namespace": namespaceColumn(), "urn": urnColumn()}}
}

func applications() Dashboard {
	apps := `workload_type=~"deployment|statefulset|daemonset"`
	return Dashboard{UID: UIDApplications, Title: "Kubernetes - Applications",
		Description: "StackState's Applications view: the workloads, pods, services and ingresses of a cluster, their desired vs ready state and events.",
		Vars:        []Var{varCluster(), varNamespaceAll()}, Links: viewLinks(),
		Panels: []Panel{
			stat(1, "Workloads", `count(namespace_workload:kubetopo_component_info:relabel{{C}, {NS}, workload_type=~"deployment|statefulset|daemonset|cronjob"})`, ""),
			stat(2, "Workloads not CLEAR", `count(namespace_workload:kubetopo_replicas_health:relabel{{C}, {NS}} > 0) or vector(0)`, ""),
			stat(3, "Pods", `count(kubetopo_component_info{{C}, type="pod", {NS}})`, ""),
			stat(4, "Pods ready", `sum(namespace_workload:kubetopo_pods_ready:sum{{C}, {NS}})`, ""),
			stat(5, "Services", `count(kubetopo_component_info{{C}, type="service", {NS}})`, ""),
			stat(6, "Ingresses", `count(kubetopo_component_info{{C}, type="ingress", {NS}}) or vector(0)`, ""),
			workloadTable(7, "Applications (desired vs ready)", `{NS}, `+apps),
			{ID: 8, Kind: Table, Title: "Services and the pods they expose", W: 12, H: 8,
				Queries: qs(`count by (namespace, service, urn) (
  label_replace(kubetopo_relation_info{{C}, type="exposes", source_type="service", target_type="pod"}, "urn", "$1", "source_urn", "(.+)")
  * on (urn) group_left (namespace, service) kubetopo_component_info{{C}, type="service", {NS}}
)`, "pods"),
				ColumnLinks: map[string][]Link{"namespace": namespaceColumn(), "urn": urnColumn()}},
			{ID: 9, Kind: Table, Title: "Ingress routes", W: 12, H: 8,
				Queries:     qs(`max by (source_urn, target_urn) (kubetopo_relation_info{{C}, type="routes", source_type="ingress", source_urn=~"urn:kubernetes:/$cluster:($namespace):.*"})`, ""),
				ColumnLinks: map[string][]Link{}, Hide: []string{"Value"}},
			{ID: 10, Kind: TimeSeries, Title: "Ready pods per namespace", W: 12, H: 8,
				Queries: qs(`sum by (namespace) (namespace_workload:kubetopo_pods_ready:sum{{C}, {NS}})`, "{{namespace}}")},
			{ID: 11, Kind: TimeSeries, Title: "Container restarts per workload (10m)", W: 12, H: 8,
				Queries: qs(`topk(10, namespace_workload:kube_pod_container_status_restarts:increase10m{{C}, {NS}})`, "{{workload_type}}/{{workload}}")},
			healthStatePanel(12, `urn=~"urn:kubernetes:/$cluster:($namespace):.*"`),
			eventsPanel(13, `urn=~"urn:kubernetes:/$cluster:($namespace):.*"`),
		}}
}

func infrastructure() Dashboard {
	return Dashboard{UID: UIDInfrastructure, Title: "Kubernetes - Infrastructure",
		Description: "StackState's Infrastructure view: nodes, their conditions and capacity, persistent volumes and the topology's size.",
		Vars:        []Var{varCluster()}, Links: viewLinks(),
		Panels: []Panel{
			stat(1, "Nodes", `count(kubetopo_component_info{{C}, type="node"})`, ""),
			stat(2, "Nodes not ready", `count(kube_node_status_condition{{C}, condition="Ready", status="true"} == 0) or vector(0)`, ""),
			stat(3, "Nodes cordoned", `sum(kube_node_spec_unschedulable{{C}})`, ""),
			stat(4, "Persistent volumes", `count(kubetopo_component_info{{C}, type="persistent-volume"})`, ""),
			stat(5, "Components", `sum(namespace_type:kubetopo_components:count{{C}})`, ""),
			stat(6, "Relations", `sum(cluster_type:kubetopo_relations:count{{C}})`, ""),
			{ID: 7, Kind: Table, Title: "Nodes", W: 24, H: 8,
				Queries: qs(
					`max by (node, kubelet_version, kernel_version, container_runtime_version) (kube_node_info{{C}})`, "",
					`max by (node) (kube_node_status_allocatable{{C}, resource="cpu"})`, "cpu",
					`max by (node) (kube_node_status_allocatable{{C}, resource="memory"})`, "memory",
					`max by (node) (kube_node_status_capacity{{C}, resource="pods"})`, "pod capacity",
					`count by (node) (
  label_replace(kubetopo_relation_info{{C}, type="scheduled_on"}, "urn", "$1", "target_urn", "(.+)")
  * on (urn) group_left (node) kubetopo_component_info{{C}, type="node"}
)`, "pods"),
				ColumnLinks: map[string][]Link{"node": nodeColumn()}, Hide: []string{"Value #A"}},
			{ID: 8, Kind: Table, Title: "Node conditions that hold", W: 12, H: 8,
				Queries:     qs(`max by (node, condition) (kube_node_status_condition{{C}, status="true"} == 1)`, ""),
				ColumnLinks: map[string][]Link{"node": nodeColumn()}, Hide: []string{"Value"}},
			{ID: 9, Kind: Table, Title: "Persistent volumes", W: 12, H: 8, Unit: "bytes",
				Queries: qs(
					`max by (persistentvolume, phase) (kube_persistentvolume_status_phase{{C}} == 1)`, "",
					`max by (persistentvolume) (kube_persistentvolume_capacity_bytes{{C}})`, "capacity"),
				Hide: []string{"Value #A"}},
			{ID: 10, Kind: TimeSeries, Title: "CPU: allocatable vs requested", W: 12, H: 8,
				Queries: qs(`sum(kube_node_status_allocatable{{C}, resource="cpu"})`, "allocatable",
					`sum(kube_pod_container_resource_requests{{C}, resource="cpu"})`, "requested")},
			{ID: 11, Kind: TimeSeries, Title: "Memory: allocatable vs requested", W: 12, H: 8, Unit: "bytes",
				Queries: qs(`sum(kube_node_status_allocatable{{C}, resource="memory"})`, "allocatable",
					`sum(kube_pod_container_resource_requests{{C}, resource="memory"})`, "requested")},
			{ID: 12, Kind: Table, Title: "Components by type", W: 12, H: 8,
				Queries: qs(`sum by (type) (namespace_type:kubetopo_components:count{{C}})`, "components")},
			{ID: 13, Kind: Table, Title: "Relations by type", W: 12, H: 8,
				Queries: qs(`sum by (type) (cluster_type:kubetopo_relations:count{{C}})`, "relations")},
			{ID: 14, Kind: TimeSeries, Title: "Volume usage (kubelet)", W: 12, H: 8, Unit: "percentunit",
				Description: "kubelet_volume_stats_* of the kubelets (or the node agent); empty when they are not scraped.",
				Queries:     qs(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{C}} / kubelet_volume_stats_capacity_bytes{{C}})`, "{{namespace}}/{{persistentvolumeclaim}}")},
			healthStatePanel(15, `urn=~"urn:kubernetes:/$cluster:(node|persistent-volume)/.*"`),
		}}
}

func namespaces() Dashboard {
	count := func(typ string) string {
		return `sum by (namespace) (namespace_type:kubetopo_components:count{{C}, namespace!="", type=~"` + typ + `"})`
	}
	return Dashboard{UID: UIDNamespaces, Title: "Kubernetes - Namespaces",
		Description: "StackState's Namespaces view: every namespace with what it holds, its resource requests and quotas.",
		Vars:        []Var{varCluster()}, Links: viewLinks(),
		Panels: []Panel{
			stat(1, "Namespaces", `count(kubetopo_component_info{{C}, type="namespace"})`, ""),
			{ID: 2, Kind: Table, Title: "Namespaces", W: 24, H: 10,
				Queries: qs(
					`max by (namespace, phase) (kube_namespace_status_phase{{C}} == 1)`, "",
					count("deployment|statefulset|daemonset|cronjob"), "workloads",
					count("pod"), "pods",
					count("service"), "services",
					count("configmap|secret"), "config"),
				ColumnLinks: map[string][]Link{"namespace": namespaceColumn()}, Hide: []string{"Value #A"}},
			{ID: 3, Kind: Table, Title: "Components per namespace and type", W: 12, H: 10,
				Queries:     qs(`sum by (namespace, type) (namespace_type:kubetopo_components:count{{C}, namespace!=""})`, ""),
				ColumnLinks: map[string][]Link{"namespace": namespaceColumn()}},
			{ID: 4, Kind: Table, Title: "Resource quotas", W: 12, H: 10,
				Queries: qs(`max by (namespace, resourcequota, resource, type) (kube_resourcequota{{C}})`, "")},
			{ID: 5, Kind: TimeSeries, Title: "CPU requests per namespace", W: 12, H: 8,
				Queries: qs(`sum by (namespace) (kube_pod_container_resource_requests{{C}, resource="cpu"})`, "{{namespace}}")},
			{ID: 6, Kind: TimeSeries, Title: "Memory requests per namespace", W: 12, H: 8, Unit: "bytes",
				Queries: qs(`sum by (namespace) (kube_pod_container_resource_requests{{C}, resource="memory"})`, "{{namespace}}")},
			{ID: 7, Kind: TimeSeries, Title: "Pods not ready per namespace", W: 12, H: 8,
				Queries: qs(`sum by (namespace) (kube_pod_status_ready{{C}, condition="false"})`, "{{namespace}}")},
			{ID: 8, Kind: TimeSeries, Title: "Events per namespace", W: 12, H: 8,
				Queries: qs(`sum by (namespace) (label_replace(`+eventsIn(`{C}`, "$__rate_interval")+`, "namespace", "$1", "urn", "urn:kubernetes:/[^:]+:([^:]+):.*"))`, "{{namespace}}")},
		}}
}

func workloadControllers() Dashboard {
	return Dashboard{UID: UIDWorkloadControllers, Title: "Kubernetes - Workload Controllers",
		Description: "StackState's Workload Controllers view: Deployments, StatefulSets, DaemonSets, ReplicaSets, CronJobs and Jobs with their desired vs ready state.",
		Vars:        []Var{varCluster(), varNamespaceAll()}, Links: viewLinks(),
		Panels: []Panel{
			stat(1, "Deployments", `count(kubetopo_component_info{{C}, type="deployment", {NS}}) or vector(0)`, ""),
			stat(2, "StatefulSets", `count(kubetopo_component_info{{C}, type="statefulset", {NS}}) or vector(0)`, ""),
			stat(3, "DaemonSets", `count(kubetopo_component_info{{C}, type="daemonset", {NS}}) or vector(0)`, ""),
			stat(4, "ReplicaSets", `count(kubetopo_component_info{{C}, type="replicaset", {NS}}) or vector(0)`, ""),
			stat(5, "CronJobs", `count(kubetopo_component_info{{C}, type="cronjob", {NS}}) or vector(0)`, ""),
			stat(6, "Jobs", `count(kubetopo_component_info{{C}, type="job", {NS}}) or vector(0)`, ""),
			workloadTable(7, "Deployments", `{NS}, workload_type="deployment"`),
			workloadTable(8, "StatefulSets", `{NS}, workload_type="statefulset"`),
			workloadTable(9, "DaemonSets", `{NS}, workload_type="daemonset"`),
			workloadTable(10, "ReplicaSets", `{NS}, workload_type="replicaset"`),
			{ID: 11, Kind: Table, Title: "CronJobs", W: 12, H: 8, Unit: "dateTimeAsIso",
				Queries: qs(
					`max by (namespace, cronjob, schedule) (kube_cronjob_info{{C}, {NS}})`, "",
					`max by (namespace, cronjob) (kube_cronjob_status_last_schedule_time{{C}, {NS}}) * 1000`, "last schedule",
					`max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{{C}, {NS}}) * 1000`, "last success"),
				ColumnLinks: map[string][]Link{"namespace": namespaceColumn()}, Hide: []string{"Value #A"}},
			{ID: 12, Kind: Table, Title: "Jobs", W: 12, H: 8,
				Queries: qs(
					`max by (namespace, job_name) (kube_job_status_active{{C}, {NS}})`, "active",
					`max by (namespace, job_name) (kube_job_status_succeeded{{C}, {NS}})`, "succeeded",
					`max by (namespace, job_name) (kube_job_status_failed{{C}, {NS}})`, "failed"),
				ColumnLinks: map[string][]Link{"namespace": namespaceColumn()}},
			{ID: 13, Kind: TimeSeries, Title: "Health of workloads (0 CLEAR, 1 DEVIATING, 2 CRITICAL)", W: 12, H: 8,
				Queries: qs(`max by (workload_type, workload) (namespace_workload:kubetopo_replicas_health:relabel{{C}, {NS}})`, "{{workload_type}}/{{workload}}")},
			{ID: 14, Kind: TimeSeries, Title: "Rollouts: updated / desired", W: 12, H: 8, Unit: "percentunit",
				Queries: qs(`namespace_workload:kubetopo_replicas_updated:relabel{{C}, {NS}} / namespace_workload:kubetopo_replicas_desired:relabel{{C}, {NS}}`, "{{workload_type}}/{{workload}}")},
		}}
}
