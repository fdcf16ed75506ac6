package dashgen

// Dashboard UIDs: stable, they are what links and bookmarks point to.
const (
	UIDApplications        = "kubetopo-applications"
	UIDInfrastructure      = "kubetopo-infrastructure"
	UIDNamespaces          = "kubetopo-namespaces"
	UIDWorkloadControllers = "kubetopo-workload-controllers"
	UIDWorkload            = "kubetopo-workload"
	UIDPod                 = "kubetopo-pod"
	UIDNode                = "kubetopo-node"
	UIDNamespace           = "kubetopo-namespace"
	UIDDependencies        = "kubetopo-dependencies"
)

// Panel IDs the component actions open with viewPanel.
const (
	panelWorkloadPods     = 20
	panelWorkloadServices = 21
	panelPodConfig        = 20
	panelNamespaceWork    = 20
	panelNamespacePodsSvc = 21
	panelNamespaceSvc     = 22
	panelDepsDown         = 20
)

// The component actions of StackState's Kubernetes integration.
const (
	ActionShowPods            = "Show pods"
	ActionShowConfig          = "Show configuration and storage"
	ActionShowDependencies    = "Show dependencies (deep)"
	ActionShowPodsServices    = "Show pods & services"
	ActionShowServices        = "Show services"
	ActionShowWorkloads       = "Show workloads"
	fieldNamespace            = "${__data.fields.namespace}"
	fieldWorkload             = "${__data.fields.workload}"
	fieldPod                  = "${__data.fields.pod}"
	fieldNode                 = "${__data.fields.node}"
	fieldURN                  = "${__data.fields.urn}"
	refDatasource, refCluster = "${datasource}", "${cluster}"
)

func params(kv ...string) [][2]string {
	out := [][2]string{{"var-datasource", refDatasource}, {"var-cluster", refCluster}}
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, [2]string{"var-" + kv[i], kv[i+1]})
	}
	return out
}

// The actions, given how the target names its component (a ${…} value).
func showPods(ns, workload string) Link {
	return Link{Title: ActionShowPods, UID: UIDWorkload, Params: params("namespace", ns, "workload", workload), ViewPanel: panelWorkloadPods}
}

func showWorkloadServices(ns, workload string) Link {
	return Link{Title: ActionShowServices, UID: UIDWorkload, Params: params("namespace", ns, "workload", workload), ViewPanel: panelWorkloadServices}
}

func openWorkload(ns, workload string) Link {
	return Link{Title: "Workload dashboard", UID: UIDWorkload, Params: params("namespace", ns, "workload", workload)}
}

func showConfig(ns, pod string) Link {
	return Link{Title: ActionShowConfig, UID: UIDPod, Params: params("namespace", ns, "pod", pod), ViewPanel: panelPodConfig}
}

func openPod(ns, pod string) Link {
	return Link{Title: "Pod dashboard", UID: UIDPod, Params: params("namespace", ns, "pod", pod)}
}

func showDependencies(urn string) Link {
	return Link{Title: ActionShowDependencies, UID: UIDDependencies, Params: params("namespace", "$__all", "urn", urn)}
}

func openNode(node string) Link {
	return Link{Title: "Node dashboard", UID: UIDNode, Params: params("node", node)}
}

func showWorkloads(ns string) Link {
	return Link{Title: ActionShowWorkloads, UID: UIDNamespace, Params: params("namespace", ns), ViewPanel: panelNamespaceWork}
}

func showPodsServices(ns string) Link {
	return Link{Title: ActionShowPodsServices, UID: UIDNamespace, Params: params("namespace", ns), ViewPanel: panelNamespacePodsSvc}
}

func showNamespaceServices(ns string) Link {
	return Link{Title: ActionShowServices, UID: UIDNamespace, Params: params("namespace", ns), ViewPanel: panelNamespaceSvc}
}

func openNamespace(ns string) Link {
	return Link{Title: "Namespace dashboard", UID: UIDNamespace, Params: params("namespace", ns)}
}

func view(uid, title string) Link { return Link{Title: title, UID: uid, Params: params()} }

// viewLinks are the four per-cluster views, on every dashboard.
func viewLinks() []Link {
	return []Link{
		view(UIDApplications, "Applications"), view(UIDInfrastructure, "Infrastructure"),
		view(UIDNamespaces, "Namespaces"), view(UIDWorkloadControllers, "Workload Controllers"),
	}
}

// Column links shared by the tables.
func workloadColumn() []Link {
	return []Link{showPods(fieldNamespace, fieldWorkload), showWorkloadServices(fieldNamespace, fieldWorkload), openWorkload(fieldNamespace, fieldWorkload)}
}

func podColumn() []Link {
	return []Link{showConfig(fieldNamespace, fieldPod), openPod(fieldNamespace, fieldPod)}
}

func namespaceColumn() []Link {
	return []Link{showWorkloads(fieldNamespace), showPodsServices(fieldNamespace), showNamespaceServices(fieldNamespace), openNamespace(fieldNamespace)}
}

func urnColumn() []Link { return []Link{showDependencies(fieldURN)} }

func nodeColumn() []Link { return []Link{openNode(fieldNode)} }

// The variables most dashboards share.
const (
	clusterQuery   = `label_values(kubetopo_component_info{type="cluster"}, cluster)`
	namespaceQuery = `label_values(kubetopo_component_info{cluster="$cluster", type="namespace"}, namespace)`
)

func varCluster() Var { return Var{Name: "cluster", Label: "Cluster", Query: clusterQuery} }
func varNamespaceAll() Var {
	return Var{Name: "namespace", Label: "Namespace", All: true, Query: namespaceQuery}
}
func varNamespaceOne() Var { return Var{Name: "namespace", Label: "Namespace", Query: namespaceQuery} }

// All is the list of dashboards this package generates.
func All() []Dashboard {
	return []Dashboard{
		applications(), infrastructure(), namespaces(), workloadControllers(),
		workload(), pod(), node(), namespace(), dependencies(),
	}
}
