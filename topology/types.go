package topology

// Component types, as published in the `type` label of kubetopo_component_info.
const (
	TypeCluster               = "cluster"
	TypeNamespace             = "namespace"
	TypeNode                  = "node"
	TypePod                   = "pod"
	TypeContainer             = "container"
	TypeService               = "service"
	TypeExternalService       = "external-service"
	TypeDeployment            = "deployment"
	TypeReplicaSet            = "replicaset"
	TypeStatefulSet           = "statefulset"
	TypeDaemonSet             = "daemonset"
	TypeJob                   = "job"
	TypeCronJob               = "cronjob"
	TypeIngress               = "ingress"
	TypeEndpoint              = "endpoint"
	TypeConfigMap             = "configmap"
	TypeSecret                = "secret"
	TypePersistentVolume      = "persistent-volume"
	TypePersistentVolumeClaim = "persistent-volume-claim"
	TypeVolumeSource          = "volume-source"
	TypeVolume                = "volume"
)

// Relation types, StackState's names.
const (
	RelBelongsTo   = "belongs_to"
	RelScheduledOn = "scheduled_on"
	RelControls    = "controls"
	RelCreates     = "creates"
	RelEncloses    = "encloses"
	RelRunsOn      = "runs_on"
	RelUses        = "uses"
	RelUsesValue   = "uses_value"
	RelExposes     = "exposes"
	RelRoutes      = "routes"
	RelClaims      = "claims"
	RelMounts      = "mounts"
	RelProjects    = "projects"
)

// Label is one extra label on a component or relation series.
type Label struct {
	Name, Value string
}

// Component is one node of the topology graph.
type Component struct {
	URN       string
	Type      string
	Namespace string
	Name      string
	UID       string
	// Identity holds the kube-state-metrics identity labels of the object
	// (pod="…", deployment="…", job_name="…"), so that KSM series join on them.
	Identity []Label
	// Labels are the Kubernetes labels of the object: its tags. They are nil
	// for components that are not Kubernetes objects (containers, volumes),
	// and non-nil, possibly empty, for those that are.
	Labels map[string]string
}

// Relation is one directed edge of the topology graph.
type Relation struct {
	Type       string
	Source     string
	SourceType string
	Target     string
	TargetType string
	// Attrs describe the edge further (a mount's path); two relations that
	// differ only in Attrs are different edges.
	Attrs []Label
}

// Result is what one Kubernetes object contributes to the topology.
type Result struct {
	Components []Component
	Relations  []Relation
}

func (r *Result) add(c Component) { r.Components = append(r.Components, c) }

func (r *Result) relate(typ string, srcType, src, tgtType, tgt string, attrs ...Label) {
	r.Relations = append(r.Relations, Relation{
		Type: typ, Source: src, SourceType: srcType, Target: tgt, TargetType: tgtType, Attrs: attrs,
	})
}
