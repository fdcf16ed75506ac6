package topology

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMapReplicaSet(t *testing.T) {
	const (
		rsURN     = "urn:kubernetes:/prod:shop:replicaset/cart-7d9f"
		rsLabeled = "component replicaset " + rsURN + " ns=shop name=cart-7d9f uid=rs-uid identity=[replicaset=cart-7d9f] labels={app=cart pod-template-hash=7d9f}"
		enclosed  = "relation encloses namespace urn:kubernetes:/prod:namespace/shop -> replicaset " + rsURN
	)
	labels := map[string]string{"app": "cart", "pod-template-hash": "7d9f"}
	tests := []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   []string
	}{
		{
			name:   "controlled by its Deployment",
			labels: labels,
			owners: []metav1.OwnerReference{controllerRef("apps/v1", "Deployment", "cart")},
			want: []string{
				rsLabeled,
				"relation controls deployment urn:kubernetes:/prod:shop:deployment/cart -> replicaset " + rsURN,
			},
		},
		{
			name:   "no owner: enclosed by its namespace",
			labels: labels,
			want:   []string{rsLabeled, enclosed},
		},
		{
			name:   "owned by an unknown CRD (Argo Rollout): enclosed by its namespace",
			labels: labels,
			owners: []metav1.OwnerReference{controllerRef("argoproj.io/v1alpha1", "Rollout", "cart")},
			want:   []string{rsLabeled, enclosed},
		},
		{
			name:   "Deployment owner that is not the controller: enclosed by its namespace",
			labels: labels,
			owners: []metav1.OwnerReference{ownerRef("apps/v1", "Deployment", "cart")},
			want:   []string{rsLabeled, enclosed},
		},
		{
			name: "no labels: empty label map",
			want: []string{
				"component replicaset " + rsURN + " ns=shop name=cart-7d9f uid=rs-uid identity=[replicaset=cart-7d9f] labels={}",
				enclosed,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := &appsv1.ReplicaSet{ObjectMeta: objectMeta("shop", "cart-7d9f", "rs-uid", tt.labels, tt.owners...)}
			assertResult(t, MapReplicaSet(testURNs, rs), tt.want)
		})
	}
}
