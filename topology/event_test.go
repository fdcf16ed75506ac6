package topology

import "testing"

func TestEventURN(t *testing.T) {
	u := NewURNs("prod")
	tests := []struct {
		name                                        string
		kind, apiVersion, namespace, obj, fieldPath string
		want                                        string
	}{
		{"pod", "Pod", "v1", "shop", "cart-1", "", "urn:kubernetes:/prod:shop:pod/cart-1"},
		{"container", "Pod", "v1", "shop", "cart-1", "spec.containers{app}", "urn:kubernetes:/prod:shop:pod/cart-1:container/app"},
		{"init container", "Pod", "v1", "shop", "cart-1", "spec.initContainers{migrate}", "urn:kubernetes:/prod:shop:pod/cart-1:container/migrate"},
		{"ephemeral container", "Pod", "v1", "shop", "cart-1", "spec.ephemeralContainers{debugger-x}", "urn:kubernetes:/prod:shop:pod/cart-1:container/debugger-x"},
		{"container sub-path", "Pod", "v1", "shop", "cart-1", "spec.containers{app}.image", "urn:kubernetes:/prod:shop:pod/cart-1:container/app"},
		{"other pod field", "Pod", "v1", "shop", "cart-1", "spec.volumes", "urn:kubernetes:/prod:shop:pod/cart-1"},
		{"malformed container path", "Pod", "v1", "shop", "cart-1", "spec.containers{", "urn:kubernetes:/prod:shop:pod/cart-1"},
		{"node", "Node", "v1", "", "worker-1", "", "urn:kubernetes:/prod:node/worker-1"},
		{"node with default namespace", "Node", "v1", "default", "worker-1", "", "urn:kubernetes:/prod:node/worker-1"},
		{"namespace", "Namespace", "v1", "", "shop", "", "urn:kubernetes:/prod:namespace/shop"},
		{"service", "Service", "v1", "shop", "cart", "", "urn:kubernetes:/prod:shop:service/cart"},
		{"configmap", "ConfigMap", "v1", "shop", "cfg", "", "urn:kubernetes:/prod:shop:configmap/cfg"},
		{"secret", "Secret", "v1", "shop", "creds", "", "urn:kubernetes:/prod:shop:secret/creds"},
		{"persistent volume", "PersistentVolume", "v1", "", "pv-1", "", "urn:kubernetes:/prod:persistent-volume/pv-1"},
		{"persistent volume claim", "PersistentVolumeClaim", "v1", "shop", "data", "", "urn:kubernetes:/prod:shop:persistent-volume-claim/data"},
		{"deployment", "Deployment", "apps/v1", "shop", "cart", "", "urn:kubernetes:/prod:shop:deployment/cart"},
		{"replicaset", "ReplicaSet", "apps/v1", "shop", "cart-7d9f", "", "urn:kubernetes:/prod:shop:replicaset/cart-7d9f"},
		{"statefulset", "StatefulSet", "apps/v1", "shop", "db", "", "urn:kubernetes:/prod:shop:statefulset/db"},
		{"daemonset", "DaemonSet", "apps/v1", "kube-system", "proxy", "", "urn:kubernetes:/prod:kube-system:daemonset/proxy"},
		{"job", "Job", "batch/v1", "shop", "report", "", "urn:kubernetes:/prod:shop:job/report"},
		{"cronjob", "CronJob", "batch/v1", "shop", "nightly", "", "urn:kubernetes:/prod:shop:cronjob/nightly"},
		{"ingress", "Ingress", "networking.k8s.io/v1", "shop", "web", "", "urn:kubernetes:/prod:shop:ingress/web"},
		{"old extensions deployment", "Deployment", "extensions/v1beta1", "shop", "cart", "", "urn:kubernetes:/prod:shop:deployment/cart"},
		{"empty apiVersion", "Pod", "", "shop", "cart-1", "spec.containers{app}", "urn:kubernetes:/prod:shop:pod/cart-1:container/app"},
		{"unknown kind", "HorizontalPodAutoscaler", "autoscaling/v2", "shop", "cart", "", ""},
		{"custom resource", "Certificate", "cert-manager.io/v1", "shop", "tls", "", ""},
		{"kind in the wrong group", "Deployment", "example.com/v1", "shop", "cart", "", ""},
		{"lease", "Lease", "coordination.k8s.io/v1", "kube-node-lease", "worker-1", "", ""},
		{"volume attachment", "VolumeAttachment", "storage.k8s.io/v1", "", "csi-1", "", ""},
		{"no name", "Pod", "v1", "shop", "", "", ""},
		{"namespaced kind without namespace", "Pod", "v1", "", "cart-1", "", ""},
		{"bad apiVersion", "Pod", "a/b/c", "shop", "cart-1", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := EventURN(u, tt.kind, tt.apiVersion, tt.namespace, tt.obj, tt.fieldPath)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("EventURN(%q, %q, %q, %q, %q) = %q, %v; want %q", tt.kind, tt.apiVersion, tt.namespace, tt.obj, tt.fieldPath, got, ok, tt.want)
			}
		})
	}
}

// Every component type that is a Kubernetes object an event can name is
// reachable: a new kind added to the topology without an event mapping fails
// here.
func TestEventURNCoversKinds(t *testing.T) {
	reachable := map[string]bool{}
	for _, typ := range eventKinds {
		reachable[typ] = true
	}
	for _, typ := range []string{TypeNamespace, TypeNode, TypePod, TypeService, TypeDeployment, TypeReplicaSet,
		TypeStatefulSet, TypeDaemonSet, TypeJob, TypeCronJob, TypeIngress, TypeConfigMap, TypeSecret,
		TypePersistentVolume, TypePersistentVolumeClaim} {
		if !reachable[typ] {
			t.Errorf("no event kind maps to component type %q", typ)
		}
	}
}
