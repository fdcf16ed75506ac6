package topology

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kind is one Kubernetes resource kubetopo watches, and how its objects map.
type Kind struct {
	// Resource is the plural resource name, as used by --resources and in
	// the agent's own metrics ("pods", "persistentvolumeclaims").
	Resource string
	GVR      schema.GroupVersionResource
	// MetadataOnly kinds are watched as PartialObjectMetadata, so their
	// contents (Secret data, ConfigMap data) never reach the agent at all.
	MetadataOnly bool
	// Map returns what one object contributes to the topology. It returns an
	// error only for an object of the wrong Go type.
	Map func(u URNs, obj any) (Result, error)
}

func kind[T any](resource, group, version string, mapFn func(URNs, T) Result) Kind {
	return Kind{
		Resource: resource,
		GVR:      schema.GroupVersionResource{Group: group, Version: version, Resource: resource},
		Map: func(u URNs, obj any) (Result, error) {
			o, ok := obj.(T)
			if !ok {
				return Result{}, fmt.Errorf("%s: unexpected object type %T", resource, obj)
			}
			return mapFn(u, o), nil
		},
	}
}

func metadataKind(resource, group, version string, mapFn func(URNs, *metav1.PartialObjectMetadata) Result) Kind {
	k := kind(resource, group, version, mapFn)
	k.MetadataOnly = true
	return k
}

// Kinds lists every resource kubetopo watches for topology. A new kind is one
// file with its mapping and test, plus one line here.
func Kinds() []Kind {
	return []Kind{
		kind("namespaces", "", "v1", MapNamespace),
		kind("nodes", "", "v1", MapNode),
		kind("pods", "", "v1", MapPod),
		kind("services", "", "v1", MapService),
		kind("endpointslices", "discovery.k8s.io", "v1", MapEndpointSlice),
		kind("deployments", "apps", "v1", MapDeployment),
		kind("replicasets", "apps", "v1", MapReplicaSet),
		kind("statefulsets", "apps", "v1", MapStatefulSet),
		kind("daemonsets", "apps", "v1", MapDaemonSet),
		kind("jobs", "batch", "v1", MapJob),
		kind("cronjobs", "batch", "v1", MapCronJob),
		kind("ingresses", "networking.k8s.io", "v1", MapIngress),
		metadataKind("configmaps", "", "v1", MapConfigMap),
		metadataKind("secrets", "", "v1", MapSecret),
		kind("persistentvolumes", "", "v1", MapPersistentVolume),
		kind("persistentvolumeclaims", "", "v1", MapPersistentVolumeClaim),
		kind("volumeattachments", "storage.k8s.io", "v1", MapVolumeAttachment),
	}
}

// Compile-time checks that each mapper takes the object type its resource serves.
var (
	_ func(URNs, *corev1.Pod) Result                 = MapPod
	_ func(URNs, *appsv1.Deployment) Result          = MapDeployment
	_ func(URNs, *batchv1.Job) Result                = MapJob
	_ func(URNs, *networkingv1.Ingress) Result       = MapIngress
	_ func(URNs, *storagev1.VolumeAttachment) Result = MapVolumeAttachment
	_ func(URNs, *discoveryv1.EndpointSlice) Result  = MapEndpointSlice
)

// objectComponent is the component of a Kubernetes object, with its
// kube-state-metrics identity label and its Kubernetes labels as tags.
func objectComponent(u URNs, typ string, m metav1.Object, identity ...Label) Component {
	return Component{
		URN:       u.Object(typ, m.GetNamespace(), m.GetName()),
		Type:      typ,
		Namespace: m.GetNamespace(),
		Name:      m.GetName(),
		UID:       string(m.GetUID()),
		Identity:  identity,
		Labels:    nonNil(m.GetLabels()),
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// modelledOwner returns the kubetopo type and URN of the object's controller
// when kubetopo models that controller as a component, e.g. a pod's
// ReplicaSet. Objects controlled by something else (a Node for mirror pods, a
// custom controller) count as not owned, so their namespace encloses them.
func modelledOwner(u URNs, m metav1.Object) (typ, urn string, ok bool) {
	ref := metav1.GetControllerOfNoCopy(m)
	if ref == nil {
		return "", "", false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", "", false
	}
	switch {
	case gv.Group == "apps" && ref.Kind == "ReplicaSet":
		typ = TypeReplicaSet
	case gv.Group == "apps" && ref.Kind == "StatefulSet":
		typ = TypeStatefulSet
	case gv.Group == "apps" && ref.Kind == "DaemonSet":
		typ = TypeDaemonSet
	case gv.Group == "apps" && ref.Kind == "Deployment":
		typ = TypeDeployment
	case gv.Group == "batch" && ref.Kind == "Job":
		typ = TypeJob
	case gv.Group == "batch" && ref.Kind == "CronJob":
		typ = TypeCronJob
	default:
		return "", "", false
	}
	return typ, u.Object(typ, m.GetNamespace(), ref.Name), true
}

// enclosedBy declares namespace → object.
func (r *Result) enclosedBy(u URNs, c Component) {
	r.relate(RelEncloses, TypeNamespace, u.Object(TypeNamespace, "", c.Namespace), c.Type, c.URN)
}
