package topology

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kindCase is one resource of the SPEC's API list, an object of the type its
// Map takes, and an object of another type that it must reject.
type kindCase struct {
	gvr          schema.GroupVersionResource
	metadataOnly bool
	good         any
	wrong        []any
}

func specKinds() map[string]kindCase {
	gvr := func(group, version, resource string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
	}
	meta := metav1.ObjectMeta{Namespace: "shop", Name: "x"}
	clusterMeta := metav1.ObjectMeta{Name: "x"}
	return map[string]kindCase{
		"namespaces":             {gvr: gvr("", "v1", "namespaces"), good: &corev1.Namespace{ObjectMeta: clusterMeta}, wrong: []any{&corev1.Node{}, corev1.Namespace{}}},
		"nodes":                  {gvr: gvr("", "v1", "nodes"), good: &corev1.Node{ObjectMeta: clusterMeta}, wrong: []any{&corev1.Namespace{}, corev1.Node{}}},
		"pods":                   {gvr: gvr("", "v1", "pods"), good: &corev1.Pod{ObjectMeta: meta}, wrong: []any{&corev1.Node{}, corev1.Pod{}, &metav1.PartialObjectMetadata{}}},
		"services":               {gvr: gvr("", "v1", "services"), good: &corev1.Service{ObjectMeta: meta}, wrong: []any{&corev1.Pod{}, &corev1.Endpoints{}}},
		"endpointslices":         {gvr: gvr("discovery.k8s.io", "v1", "endpointslices"), good: &discoveryv1.EndpointSlice{ObjectMeta: meta}, wrong: []any{&corev1.Endpoints{}, &corev1.Service{}}},
		"deployments":            {gvr: gvr("apps", "v1", "deployments"), good: &appsv1.Deployment{ObjectMeta: meta}, wrong: []any{&appsv1.ReplicaSet{}}},
		"replicasets":            {gvr: gvr("apps", "v1", "replicasets"), good: &appsv1.ReplicaSet{ObjectMeta: meta}, wrong: []any{&appsv1.Deployment{}}},
		"statefulsets":           {gvr: gvr("apps", "v1", "statefulsets"), good: &appsv1.StatefulSet{ObjectMeta: meta}, wrong: []any{&appsv1.DaemonSet{}}},
		"daemonsets":             {gvr: gvr("apps", "v1", "daemonsets"), good: &appsv1.DaemonSet{ObjectMeta: meta}, wrong: []any{&appsv1.StatefulSet{}}},
		"jobs":                   {gvr: gvr("batch", "v1", "jobs"), good: &batchv1.Job{ObjectMeta: meta}, wrong: []any{&batchv1.CronJob{}}},
		"cronjobs":               {gvr: gvr("batch", "v1", "cronjobs"), good: &batchv1.CronJob{ObjectMeta: meta}, wrong: []any{&batchv1.Job{}}},
		"ingresses":              {gvr: gvr("networking.k8s.io", "v1", "ingresses"), good: &networkingv1.Ingress{ObjectMeta: meta}, wrong: []any{&corev1.Service{}}},
		"configmaps":             {gvr: gvr("", "v1", "configmaps"), metadataOnly: true, good: &metav1.PartialObjectMetadata{ObjectMeta: meta}, wrong: []any{&corev1.ConfigMap{ObjectMeta: meta}}},
		"secrets":                {gvr: gvr("", "v1", "secrets"), metadataOnly: true, good: &metav1.PartialObjectMetadata{ObjectMeta: meta}, wrong: []any{&corev1.Secret{ObjectMeta: meta}}},
		"persistentvolumes":      {gvr: gvr("", "v1", "persistentvolumes"), good: &corev1.PersistentVolume{ObjectMeta: clusterMeta}, wrong: []any{&corev1.PersistentVolumeClaim{}}},
		"persistentvolumeclaims": {gvr: gvr("", "v1", "persistentvolumeclaims"), good: &corev1.PersistentVolumeClaim{ObjectMeta: meta}, wrong: []any{&corev1.PersistentVolume{}}},
		"volumeattachments":      {gvr: gvr("storage.k8s.io", "v1", "volumeattachments"), good: &storagev1.VolumeAttachment{ObjectMeta: clusterMeta}, wrong: []any{&corev1.PersistentVolume{}}},
	}
}

func TestKindsMatchSPEC(t *testing.T) {
	want := specKinds()
	kinds := Kinds()
	seenResource := map[string]bool{}
	seenGVR := map[schema.GroupVersionResource]bool{}
	for _, k := range kinds {
		t.Run(k.Resource, func(t *testing.T) {
			if seenResource[k.Resource] {
				t.Errorf("resource %q listed twice", k.Resource)
			}
			seenResource[k.Resource] = true
			if seenGVR[k.GVR] {
				t.Errorf("GVR %v listed twice", k.GVR)
			}
			seenGVR[k.GVR] = true
			w, ok := want[k.Resource]
			if !ok {
				t.Fatalf("resource %q is not in the SPEC's API list", k.Resource)
			}
			if k.GVR != w.gvr {
				t.Errorf("GVR = %v, want %v", k.GVR, w.gvr)
			}
			if k.GVR.Resource != k.Resource {
				t.Errorf("GVR resource %q differs from Resource %q", k.GVR.Resource, k.Resource)
			}
			if k.MetadataOnly != w.metadataOnly {
				t.Errorf("MetadataOnly = %v, want %v", k.MetadataOnly, w.metadataOnly)
			}
			if k.Map == nil {
				t.Fatal("Map is nil")
			}
		})
	}
	for resource := range want {
		if !seenResource[resource] {
			t.Errorf("SPEC resource %q is not in Kinds()", resource)
		}
	}
	for _, excluded := range []string{"events", "componentstatuses", "endpoints"} {
		if seenResource[excluded] {
			t.Errorf("%q must not be a topology kind", excluded)
		}
	}
}

func TestKindsMap(t *testing.T) {
	want := specKinds()
	for _, k := range Kinds() {
		w, ok := want[k.Resource]
		if !ok {
			continue // reported by TestKindsMatchSPEC
		}
		t.Run(k.Resource+"/accepts its type", func(t *testing.T) {
			r, err := k.Map(testURNs, w.good)
			if err != nil {
				t.Fatalf("Map(%T) error: %v", w.good, err)
			}
			if k.Resource == "endpointslices" || k.Resource == "volumeattachments" {
				return // relations only, and none for an empty object
			}
			if len(r.Components) == 0 {
				t.Errorf("Map(%T) returned no component", w.good)
			}
		})
		for _, obj := range append(w.wrong, nil, "pod") {
			t.Run(k.Resource+"/rejects "+typeName(obj), func(t *testing.T) {
				r, err := k.Map(testURNs, obj)
				if err == nil {
					t.Fatalf("Map(%T) accepted the wrong type", obj)
				}
				if !strings.Contains(err.Error(), k.Resource) {
					t.Errorf("error %q does not name the resource %q", err, k.Resource)
				}
				if len(r.Components) != 0 || len(r.Relations) != 0 {
					t.Errorf("Map(%T) returned %d components, %d relations with its error", obj, len(r.Components), len(r.Relations))
				}
			})
		}
	}
}

func typeName(obj any) string {
	if obj == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", obj)
}
