// Package scenario builds a realistic application as Kubernetes objects: two
// namespaces with Deployments (and their ReplicaSets and Pods), a StatefulSet
// with claims bound to PVs of several volume sources, a DaemonSet, a CronJob
// with finished and running Jobs, Services of every type, an Ingress with
// load-balancer addresses, ConfigMaps and Secrets used every way a pod can use
// them, an EndpointSlice for a selectorless Service and a VolumeAttachment.
//
// The demo runs the agent on it, the topology golden test maps it, and the
// integration suite applies it to a real apiserver. Objects come in creation
// order (owners before what they own); owner references carry names only,
// and whoever creates them fills in the owners' UIDs.
package scenario

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Secret values in the scenario: tests assert none of them ever leaves the agent.
const (
	SecretValue      = "s3cr3t-p4ssw0rd-never-in-metrics"
	LastAppliedValue = "last-applied-never-in-metrics"
)

// Objects returns the scenario, in creation order.
func Objects() []runtime.Object {
	var o []runtime.Object
	add := func(objs ...runtime.Object) { o = append(o, objs...) }

	add(node("node-a", "zone-a"), node("node-b", "zone-b"))
	add(namespace("shop"), namespace("platform"))
	add(
		pvNFS("pv-nfs-0", "10.0.0.5", "/exports/pg0"),
		pvCSI("pv-csi-0", "ebs.csi.aws.com", "vol-0abc123"),
		pvHostPath("pv-hostpath-0", "/mnt/data"),
	)
	add(
		configMap("shop", "frontend-config"), configMap("shop", "cart-config"),
		secret("shop", "cart-db-credentials"), secret("shop", "frontend-tls"), secret("shop", "api-token"),
		configMap("platform", "postgres-config"), configMap("platform", "log-agent-config"),
		secret("platform", "postgres-credentials"), secret("platform", "log-agent-token"),
	)
	add(pvc("platform", "data-postgres-0", "pv-nfs-0"), pvc("platform", "data-postgres-1", "pv-csi-0"))

	// Services of every type.
	add(
		service("shop", "frontend", corev1.ServiceTypeClusterIP, map[string]string{"app": "frontend"}),
		service("shop", "frontend-external", corev1.ServiceTypeLoadBalancer, map[string]string{"app": "frontend"}),
		service("shop", "frontend-nodeport", corev1.ServiceTypeNodePort, map[string]string{"app": "frontend"}),
		service("shop", "cart", corev1.ServiceTypeClusterIP, map[string]string{"app": "cart"}),
		headless("shop", "cart-headless", map[string]string{"app": "cart"}),
		externalName("shop", "payments", "payments.example.com"),
		service("shop", "legacy-db", corev1.ServiceTypeClusterIP, nil),
		headless("platform", "postgres", map[string]string{"app": "postgres"}),
	)

	// shop: two Deployments, one with an old ReplicaSet from a past rollout.
	fe := deployment("shop", "frontend", 2, "frontend")
	fe.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": LastAppliedValue}
	add(fe, deployment("shop", "cart", 1, "cart"))
	add(replicaSet("shop", "frontend-5f7b9c8d7", "frontend", 0, "frontend"),
		replicaSet("shop", "frontend-6d4cf56db6", "frontend", 2, "frontend"),
		replicaSet("shop", "cart-7c9d8b6f5", "cart", 1, "cart"))
	for i, name := range []string{"frontend-6d4cf56db6-abcde", "frontend-6d4cf56db6-fghij"} {
		add(frontendPod(name, []string{"node-a", "node-b"}[i]))
	}
	add(cartPod("cart-7c9d8b6f5-x2k9p", "node-b"))
	add(pod("shop", "debug-shell", "node-a", map[string]string{"run": "debug-shell"}, container("shell", "busybox")))

	// platform: a StatefulSet with claims, a DaemonSet, a CronJob with Jobs,
	// a Job and a ReplicaSet of their own.
	add(statefulSet("platform", "postgres", 2))
	add(daemonSet("platform", "log-agent"))
	add(cronJob("platform", "nightly-report"))
	add(job("platform", "nightly-report-29000000", "nightly-report"), job("platform", "nightly-report-29000001", "nightly-report"))
	add(job("platform", "db-migrate", ""))
	add(replicaSet("platform", "orphan-rs", "", 1, "orphan"))
	for i := 0; i < 2; i++ {
		add(postgresPod(i, []string{"node-a", "node-b"}[i]))
	}
	for _, n := range []string{"node-a", "node-b"} {
		add(logAgentPod("log-agent-"+n[len(n)-1:]+"xk2p", n))
	}
	add(jobPod("platform", "nightly-report-29000000-7tq2v", "nightly-report-29000000", "node-a", corev1.PodSucceeded))
	add(jobPod("platform", "nightly-report-29000001-m8r4c", "nightly-report-29000001", "node-b", corev1.PodRunning))
	add(jobPod("platform", "db-migrate-5kq7w", "db-migrate", "node-a", corev1.PodRunning))
	add(owned(pod("platform", "orphan-rs-q9w2e", "node-b", map[string]string{"app": "orphan"}, container("app", "nginx")), "apps/v1", "ReplicaSet", "orphan-rs"))

	add(ingress("shop", "storefront"))
	add(endpointSlice("shop", "legacy-db-manual", "legacy-db", "cart-7c9d8b6f5-x2k9p"))
	add(volumeAttachment("csi-attach-pv-csi-0", "node-a", "pv-csi-0"))
	return o
}

func meta(ns, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}
}

func node(name, zone string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: meta("", name, map[string]string{
			"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone, "node-role.kubernetes.io/worker": "",
		}),
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110"),
		}},
	}
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: meta("", name, map[string]string{"kubernetes.io/metadata.name": name, "team": name + "-team"})}
}

func configMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: meta(ns, name, map[string]string{"app.kubernetes.io/part-of": ns}),
		Data: map[string]string{"config.yaml": "log_level: info\n"}}
}

func secret(ns, name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: meta(ns, name, map[string]string{"app.kubernetes.io/part-of": ns}),
		Type: corev1.SecretTypeOpaque, StringData: map[string]string{"password": SecretValue}}
}

func pv(name string, src corev1.PersistentVolumeSource, size string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: meta("", name, map[string]string{"storage-tier": "standard"}),
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "standard",
			PersistentVolumeSource:        src,
		},
	}
}

func pvNFS(name, server, path string) *corev1.PersistentVolume {
	return pv(name, corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: server, Path: path}}, "10Gi")
}

func pvCSI(name, driver, handle string) *corev1.PersistentVolume {
	return pv(name, corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}}, "10Gi")
}

func pvHostPath(name, path string) *corev1.PersistentVolume {
	return pv(name, corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}, "50Gi")
}

func pvc(ns, name, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: meta(ns, name, map[string]string{"app": "postgres"}),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To("standard"),
			VolumeName:       volume,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
		},
	}
}

func service(ns, name string, typ corev1.ServiceType, selector map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: meta(ns, name, map[string]string{"app.kubernetes.io/name": name}),
		Spec: corev1.ServiceSpec{Type: typ, Selector: selector, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP},
		}},
	}
}

func headless(ns, name string, selector map[string]string) *corev1.Service {
	s := service(ns, name, corev1.ServiceTypeClusterIP, selector)
	s.Spec.ClusterIP = corev1.ClusterIPNone
	return s
}

func externalName(ns, name, target string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: meta(ns, name, map[string]string{"app.kubernetes.io/name": name}),
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target},
	}
}
