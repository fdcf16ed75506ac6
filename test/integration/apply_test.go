//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// applyScenario creates objs in order through the real API, giving owner
// references the UIDs of the owners just created, and then writes the status
// the scenario describes (pod phases, ingress addresses), since the
// apiserver drops status on create.
func applyScenario(t testing.TB, ctx context.Context, c kubernetes.Interface, objs []runtime.Object) {
	t.Helper()
	uids := map[string]types.UID{}
	key := func(kind, ns, name string) string { return kind + "/" + ns + "/" + name }
	for _, obj := range objs {
		obj = obj.DeepCopyObject()
		m := obj.(metav1.Object)
		refs := m.GetOwnerReferences()
		for i := range refs {
			uid, ok := uids[key(refs[i].Kind, m.GetNamespace(), refs[i].Name)]
			if !ok {
				t.Fatalf("%s/%s: owner %s %s not created before it", m.GetNamespace(), m.GetName(), refs[i].Kind, refs[i].Name)
			}
			refs[i].UID = uid
		}
		kind, created, err := create(ctx, c, obj)
		if err != nil {
			t.Fatalf("creating %T %s/%s: %v", obj, m.GetNamespace(), m.GetName(), err)
		}
		uids[key(kind, m.GetNamespace(), m.GetName())] = created.GetUID()
	}
}

func create(ctx context.Context, c kubernetes.Interface, obj runtime.Object) (string, metav1.Object, error) {
	o := metav1.CreateOptions{}
	switch x := obj.(type) {
	case *corev1.Node:
		r, err := c.CoreV1().Nodes().Create(ctx, x, o)
		return "Node", r, err
	case *corev1.Namespace:
		r, err := c.CoreV1().Namespaces().Create(ctx, x, o)
		if err != nil {
			return "Namespace", r, err
		}
		// Without a controller-manager nobody creates the default
		// ServiceAccount, and pods cannot be admitted without it.
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: x.Name, Name: "default"}}
		if _, err := c.CoreV1().ServiceAccounts(x.Name).Create(ctx, sa, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return "Namespace", r, err
		}
		return "Namespace", r, nil
	case *corev1.PersistentVolume:
		r, err := c.CoreV1().PersistentVolumes().Create(ctx, x, o)
		return "PersistentVolume", r, err
	case *corev1.ConfigMap:
		r, err := c.CoreV1().ConfigMaps(x.Namespace).Create(ctx, x, o)
		return "ConfigMap", r, err
	case *corev1.Secret:
		r, err := c.CoreV1().Secrets(x.Namespace).Create(ctx, x, o)
		return "Secret", r, err
	case *corev1.PersistentVolumeClaim:
		r, err := c.CoreV1().PersistentVolumeClaims(x.Namespace).Create(ctx, x, o)
		return "PersistentVolumeClaim", r, err
	case *corev1.Service:
		r, err := c.CoreV1().Services(x.Namespace).Create(ctx, x, o)
		return "Service", r, err
	case *corev1.Pod:
		r, err := c.CoreV1().Pods(x.Namespace).Create(ctx, x, o)
		if err != nil {
			return "Pod", r, err
		}
		r.Status.Phase = x.Status.Phase
		r, err = c.CoreV1().Pods(x.Namespace).UpdateStatus(ctx, r, metav1.UpdateOptions{})
		return "Pod", r, err
	case *appsv1.Deployment:
		r, err := c.AppsV1().Deployments(x.Namespace).Create(ctx, x, o)
		return "Deployment", r, err
	case *appsv1.ReplicaSet:
		r, err := c.AppsV1().ReplicaSets(x.Namespace).Create(ctx, x, o)
		return "ReplicaSet", r, err
	case *appsv1.StatefulSet:
		r, err := c.AppsV1().StatefulSets(x.Namespace).Create(ctx, x, o)
		return "StatefulSet", r, err
	case *appsv1.DaemonSet:
		r, err := c.AppsV1().DaemonSets(x.Namespace).Create(ctx, x, o)
		return "DaemonSet", r, err
	case *batchv1.CronJob:
		r, err := c.BatchV1().CronJobs(x.Namespace).Create(ctx, x, o)
		return "CronJob", r, err
	case *batchv1.Job:
		r, err := c.BatchV1().Jobs(x.Namespace).Create(ctx, x, o)
		return "Job", r, err
	case *networkingv1.Ingress:
		r, err := c.NetworkingV1().Ingresses(x.Namespace).Create(ctx, x, o)
		if err != nil {
			return "Ingress", r, err
		}
		r.Status = x.Status
		r, err = c.NetworkingV1().Ingresses(x.Namespace).UpdateStatus(ctx, r, metav1.UpdateOptions{})
		return "Ingress", r, err
	case *discoveryv1.EndpointSlice:
		r, err := c.DiscoveryV1().EndpointSlices(x.Namespace).Create(ctx, x, o)
		return "EndpointSlice", r, err
	case *storagev1.VolumeAttachment:
		r, err := c.StorageV1().VolumeAttachments().Create(ctx, x, o)
		return "VolumeAttachment", r, err
	}
	return "", nil, fmt.Errorf("no create for %T", obj)
}
