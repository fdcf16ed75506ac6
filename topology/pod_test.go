package topology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The pod most cases start from: shop/cart-7d9f-abcde, one container "cart",
// scheduled on node-1.
const (
	podURN     = "urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde"
	cartURN    = "urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde:container/cart"
	sidecarURN = "urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde:container/sidecar"
	migrateURN = "urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde:container/migrate"
	node1URN   = "urn:kubernetes:/prod:node/node-1"
	shopNSURN  = "urn:kubernetes:/prod:namespace/shop"

	podComponent     = "component pod urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde ns=shop name=cart-7d9f-abcde uid=pod-uid identity=[pod=cart-7d9f-abcde] labels={app=cart tier=web}"
	cartComponent    = "component container urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde:container/cart ns=shop name=cart uid= identity=[container=cart pod=cart-7d9f-abcde] labels=nil"
	sidecarComponent = "component container urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde:container/sidecar ns=shop name=sidecar uid= identity=[container=sidecar pod=cart-7d9f-abcde] labels=nil"
	migrateComponent = "component container urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde:container/migrate ns=shop name=migrate uid= identity=[container=migrate pod=cart-7d9f-abcde] labels=nil"

	podScheduledOn  = "relation scheduled_on pod " + podURN + " -> node " + node1URN
	podEnclosesCart = "relation encloses pod " + podURN + " -> container " + cartURN
	cartRunsOn      = "relation runs_on container " + cartURN + " -> node " + node1URN
	nsEnclosesPod   = "relation encloses namespace " + shopNSURN + " -> pod " + podURN
	podEnclosesSide = "relation encloses pod " + podURN + " -> container " + sidecarURN
	sidecarRunsOn   = "relation runs_on container " + sidecarURN + " -> node " + node1URN
	podEnclosesInit = "relation encloses pod " + podURN + " -> container " + migrateURN
	migrateRunsOn   = "relation runs_on container " + migrateURN + " -> node " + node1URN
)

// scheduledPod is what the base pod contributes whatever its owner.
var scheduledPod = []string{podComponent, cartComponent, podScheduledOn, podEnclosesCart, cartRunsOn}

func testPod(mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: objectMeta("shop", "cart-7d9f-abcde", "pod-uid", map[string]string{"app": "cart", "tier": "web"}),
		Spec: corev1.PodSpec{
			NodeName:   "node-1",
			Containers: []corev1.Container{{Name: "cart", Image: "shop/cart:1.2.3"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func lines(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func owned(ref metav1.OwnerReference) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.OwnerReferences = append(p.OwnerReferences, ref) }
}

func phase(ph corev1.PodPhase) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}

func unscheduled(p *corev1.Pod) { p.Spec.NodeName = "" }

func TestMapPodOwnershipAndScheduling(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string
	}{
		{
			name: "bare pod scheduled: enclosed by its namespace",
			pod:  testPod(),
			want: lines(scheduledPod, []string{nsEnclosesPod}),
		},
		{
			name: "bare pod unscheduled: no scheduled_on, no runs_on",
			pod:  testPod(unscheduled, phase(corev1.PodPending)),
			want: []string{podComponent, cartComponent, podEnclosesCart, nsEnclosesPod},
		},
		{
			name: "controlled by ReplicaSet",
			pod:  testPod(owned(controllerRef("apps/v1", "ReplicaSet", "cart-7d9f"))),
			want: lines(scheduledPod, []string{
				"relation controls replicaset urn:kubernetes:/prod:shop:replicaset/cart-7d9f -> pod " + podURN,
			}),
		},
		{
			name: "controlled by ReplicaSet, pod finished: still controlled",
			pod:  testPod(owned(controllerRef("apps/v1", "ReplicaSet", "cart-7d9f")), phase(corev1.PodFailed)),
			want: lines(scheduledPod, []string{
				"relation controls replicaset urn:kubernetes:/prod:shop:replicaset/cart-7d9f -> pod " + podURN,
			}),
		},
		{
			name: "controlled by StatefulSet",
			pod:  testPod(owned(controllerRef("apps/v1", "StatefulSet", "cart"))),
			want: lines(scheduledPod, []string{
				"relation controls statefulset urn:kubernetes:/prod:shop:statefulset/cart -> pod " + podURN,
			}),
		},
		{
			name: "controlled by DaemonSet",
			pod:  testPod(owned(controllerRef("apps/v1", "DaemonSet", "cart"))),
			want: lines(scheduledPod, []string{
				"relation controls daemonset urn:kubernetes:/prod:shop:daemonset/cart -> pod " + podURN,
			}),
		},
		{
			name: "controlled by running Job",
			pod:  testPod(owned(controllerRef("batch/v1", "Job", "backup-28391"))),
			want: lines(scheduledPod, []string{
				"relation controls job urn:kubernetes:/prod:shop:job/backup-28391 -> pod " + podURN,
			}),
		},
		{
			name: "controlled by Job, pod pending and unscheduled",
			pod:  testPod(owned(controllerRef("batch/v1", "Job", "backup-28391")), phase(corev1.PodPending), unscheduled),
			want: []string{podComponent, cartComponent, podEnclosesCart,
				"relation controls job urn:kubernetes:/prod:shop:job/backup-28391 -> pod " + podURN,
			},
		},
		{
			name: "Job pod Succeeded: no controls, not enclosed by namespace",
			pod:  testPod(owned(controllerRef("batch/v1", "Job", "backup-28391")), phase(corev1.PodSucceeded)),
			want: scheduledPod,
		},
		{
			name: "Job pod Failed: no controls, not enclosed by namespace",
			pod:  testPod(owned(controllerRef("batch/v1", "Job", "backup-28391")), phase(corev1.PodFailed)),
			want: scheduledPod,
		},
		{
			name: "mirror pod controlled by its Node: enclosed by namespace",
			pod:  testPod(owned(controllerRef("v1", "Node", "node-1"))),
			want: lines(scheduledPod, []string{nsEnclosesPod}),
		},
		{
			name: "controlled by an unknown CRD kind: enclosed by namespace",
			pod:  testPod(owned(controllerRef("argoproj.io/v1alpha1", "Rollout", "cart"))),
			want: lines(scheduledPod, []string{nsEnclosesPod}),
		},
		{
			name: "controlled by a CRD named ReplicaSet in another group: enclosed by namespace",
			pod:  testPod(owned(controllerRef("example.com/v1", "ReplicaSet", "cart-7d9f"))),
			want: lines(scheduledPod, []string{nsEnclosesPod}),
		},
		{
			name: "owner reference that is not the controller: enclosed by namespace",
			pod:  testPod(owned(ownerRef("apps/v1", "ReplicaSet", "cart-7d9f"))),
			want: lines(scheduledPod, []string{nsEnclosesPod}),
		},
		{
			name: "controller among several owners",
			pod: testPod(
				owned(ownerRef("v1", "ConfigMap", "lock")),
				owned(controllerRef("apps/v1", "StatefulSet", "cart")),
			),
			want: lines(scheduledPod, []string{
				"relation controls statefulset urn:kubernetes:/prod:shop:statefulset/cart -> pod " + podURN,
			}),
		},
		{
			name: "pod without labels gets an empty, non-nil label map",
			pod:  testPod(func(p *corev1.Pod) { p.Labels = nil }),
			want: []string{
				"component pod urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde ns=shop name=cart-7d9f-abcde uid=pod-uid identity=[pod=cart-7d9f-abcde] labels={}",
				cartComponent, podScheduledOn, podEnclosesCart, cartRunsOn, nsEnclosesPod,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertResult(t, MapPod(testURNs, tt.pod), tt.want)
		})
	}
}

func TestMapPodContainers(t *testing.T) {
	withInitAndSidecar := func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "migrate"}}
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar"})
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string
	}{
		{
			name: "init containers are containers too",
			pod:  testPod(withInitAndSidecar),
			want: lines(scheduledPod, []string{
				nsEnclosesPod,
				migrateComponent, podEnclosesInit, migrateRunsOn,
				sidecarComponent, podEnclosesSide, sidecarRunsOn,
			}),
		},
		{
			name: "unscheduled: containers run nowhere yet",
			pod:  testPod(withInitAndSidecar, unscheduled),
			want: []string{
				podComponent, nsEnclosesPod,
				cartComponent, podEnclosesCart,
				migrateComponent, podEnclosesInit,
				sidecarComponent, podEnclosesSide,
			},
		},
		{
			name: "ephemeral containers are not containers",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger"}}}
			}),
			want: lines(scheduledPod, []string{nsEnclosesPod}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertResult(t, MapPod(testURNs, tt.pod), tt.want)
		})
	}
}

func configMapKey(name string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "k"}}
}

func secretKey(name string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "k"}}
}

func envFromConfigMap(name string) corev1.EnvFromSource {
	return corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}
}

func envFromSecret(name string) corev1.EnvFromSource {
	return corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}
}

func TestMapPodEnvironment(t *testing.T) {
	const (
		cmCartConfig  = "urn:kubernetes:/prod:shop:configmap/cart-config"
		cmFlags       = "urn:kubernetes:/prod:shop:configmap/feature-flags"
		cmShared      = "urn:kubernetes:/prod:shop:configmap/shared"
		secCart       = "urn:kubernetes:/prod:shop:secret/cart-secrets"
		secDB         = "urn:kubernetes:/prod:shop:secret/db-credentials"
		secShared     = "urn:kubernetes:/prod:shop:secret/shared"
		fieldRefValue = "metadata.name"
	)
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string
	}{
		{
			name: "envFrom uses, valueFrom uses_value, deduplicated across containers",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{
					Name:    "migrate",
					EnvFrom: []corev1.EnvFromSource{envFromConfigMap("cart-config")},
					Env:     []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: secretKey("db-credentials")}},
				}}
				p.Spec.Containers = []corev1.Container{
					{
						Name:    "cart",
						EnvFrom: []corev1.EnvFromSource{envFromConfigMap("cart-config"), envFromSecret("cart-secrets")},
						Env: []corev1.EnvVar{
							{Name: "PLAIN", Value: "x"},
							{Name: "MODE", ValueFrom: configMapKey("cart-config")},
							{Name: "MODE2", ValueFrom: configMapKey("cart-config")},
							{Name: "DB_PASSWORD", ValueFrom: secretKey("db-credentials")},
							{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: fieldRefValue}}},
							{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
						},
					},
					{
						Name:    "sidecar",
						EnvFrom: []corev1.EnvFromSource{envFromSecret("cart-secrets")},
						Env: []corev1.EnvVar{
							{Name: "DB_PASSWORD", ValueFrom: secretKey("db-credentials")},
							{Name: "FLAGS", ValueFrom: configMapKey("feature-flags")},
						},
					},
				}
			}),
			want: lines(scheduledPod, []string{
				nsEnclosesPod,
				migrateComponent, podEnclosesInit, migrateRunsOn,
				sidecarComponent, podEnclosesSide, sidecarRunsOn,
				"relation uses pod " + podURN + " -> configmap " + cmCartConfig,
				"relation uses pod " + podURN + " -> secret " + secCart,
				"relation uses_value pod " + podURN + " -> configmap " + cmCartConfig,
				"relation uses_value pod " + podURN + " -> secret " + secDB,
				"relation uses_value pod " + podURN + " -> configmap " + cmFlags,
			}),
		},
		{
			name: "a ConfigMap and a Secret of the same name are two targets",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{envFromConfigMap("shared"), envFromSecret("shared")}
				p.Spec.Containers[0].Env = []corev1.EnvVar{
					{Name: "A", ValueFrom: configMapKey("shared")},
					{Name: "B", ValueFrom: secretKey("shared")},
				}
			}),
			want: lines(scheduledPod, []string{
				nsEnclosesPod,
				"relation uses pod " + podURN + " -> configmap " + cmShared,
				"relation uses pod " + podURN + " -> secret " + secShared,
				"relation uses_value pod " + podURN + " -> configmap " + cmShared,
				"relation uses_value pod " + podURN + " -> secret " + secShared,
			}),
		},
		{
			name: "fieldRef and resourceFieldRef only: nothing used",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = []corev1.EnvVar{
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: fieldRefValue}}},
					{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
					{Name: "PLAIN", Value: "y"},
				}
			}),
			want: lines(scheduledPod, []string{nsEnclosesPod}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertResult(t, MapPod(testURNs, tt.pod), tt.want)
		})
	}
}
