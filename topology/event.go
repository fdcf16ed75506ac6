package topology

import (
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// eventKinds maps the (API group, Kind) of an event's involved object to the
// kubetopo component type it is attached to. Only kinds that are components
// are listed; anything else (a Lease, an HPA, a VolumeAttachment, a custom
// resource) has no URN. The extensions group is the pre-1.16 home of some.
var eventKinds = map[schema.GroupKind]string{
	{Group: "", Kind: "Pod"}:                      TypePod,
	{Group: "", Kind: "Node"}:                     TypeNode,
	{Group: "", Kind: "Namespace"}:                TypeNamespace,
	{Group: "", Kind: "Service"}:                  TypeService,
	{Group: "", Kind: "ConfigMap"}:                TypeConfigMap,
	{Group: "", Kind: "Secret"}:                   TypeSecret,
	{Group: "", Kind: "PersistentVolume"}:         TypePersistentVolume,
	{Group: "", Kind: "PersistentVolumeClaim"}:    TypePersistentVolumeClaim,
	{Group: "apps", Kind: "Deployment"}:           TypeDeployment,
	{Group: "apps", Kind: "ReplicaSet"}:           TypeReplicaSet,
	{Group: "apps", Kind: "StatefulSet"}:          TypeStatefulSet,
	{Group: "apps", Kind: "DaemonSet"}:            TypeDaemonSet,
	{Group: "batch", Kind: "Job"}:                 TypeJob,
	{Group: "batch", Kind: "CronJob"}:             TypeCronJob,
	{Group: "networking.k8s.io", Kind: "Ingress"}: TypeIngress,
	{Group: "extensions", Kind: "Deployment"}:     TypeDeployment,
	{Group: "extensions", Kind: "ReplicaSet"}:     TypeReplicaSet,
	{Group: "extensions", Kind: "DaemonSet"}:      TypeDaemonSet,
	{Group: "extensions", Kind: "Ingress"}:        TypeIngress,
}

// EventURN returns the URN of the component an event is about, from the
// event's involved object (regarding, in events.k8s.io/v1): its kind,
// apiVersion, namespace, name and fieldPath. When the fieldPath names a
// container of a pod (spec.containers{name}, spec.initContainers{name},
// spec.ephemeralContainers{name}), it is the container's URN; otherwise the
// object's. It returns "" and false for objects that are not components
// (unknown kinds, VolumeAttachments, Leases, custom resources) and for
// references without a name.
//
// An empty apiVersion matches by kind alone: some event writers leave it out.
func EventURN(u URNs, kind, apiVersion, namespace, name, fieldPath string) (string, bool) {
	if name == "" || kind == "" {
		return "", false
	}
	typ, ok := eventType(kind, apiVersion)
	if !ok {
		return "", false
	}
	switch typ {
	case TypeNode, TypeNamespace, TypePersistentVolume:
		namespace = "" // cluster-scoped; some writers fill in "default"
	default:
		if namespace == "" {
			return "", false
		}
	}
	if typ == TypePod {
		if c, ok := ContainerOfFieldPath(fieldPath); ok {
			return u.Container(namespace, name, c), true
		}
	}
	return u.Object(typ, namespace, name), true
}

func eventType(kind, apiVersion string) (string, bool) {
	if apiVersion == "" {
		for gk, typ := range eventKinds {
			if gk.Kind == kind {
				return typ, true
			}
		}
		return "", false
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return "", false
	}
	typ := eventKinds[schema.GroupKind{Group: gv.Group, Kind: kind}]
	return typ, typ != ""
}

// ContainerOfFieldPath returns the container a field path names:
// "spec.containers{app}" → "app", also for initContainers and
// ephemeralContainers, with or without a trailing sub-path.
func ContainerOfFieldPath(fieldPath string) (string, bool) {
	for _, prefix := range []string{"spec.containers{", "spec.initContainers{", "spec.ephemeralContainers{"} {
		rest, ok := strings.CutPrefix(fieldPath, prefix)
		if !ok {
			continue
		}
		name, _, ok := strings.Cut(rest, "}")
		if !ok || name == "" {
			return "", false
		}
		return name, true
	}
	return "", false
}
