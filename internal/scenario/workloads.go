package scenario

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func podTemplate(app string, containers ...corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: containers},
	}
}

func container(name, image string) corev1.Container {
	return corev1.Container{Name: name, Image: image, Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")},
	}}
}

func selector(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

func deployment(ns, name string, replicas int32, app string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: meta(ns, name, map[string]string{"app": app, "app.kubernetes.io/name": name, "tier": "web"}),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas), Selector: selector(app), Template: podTemplate(app, container(app, "registry.example/"+app+":1.0")),
		},
	}
}

func replicaSet(ns, name, deployment string, replicas int32, app string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: meta(ns, name, map[string]string{"app": app, "pod-template-hash": name[len(name)-min(len(name), 9):]}),
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas), Selector: selector(app), Template: podTemplate(app, container(app, "registry.example/"+app+":1.0")),
		},
	}
	if deployment != "" {
		owned(rs, "apps/v1", "Deployment", deployment)
	}
	return rs
}

func statefulSet(ns, name string, replicas int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: meta(ns, name, map[string]string{"app": name}),
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To(replicas), ServiceName: name, Selector: selector(name),
			Template: podTemplate(name, container("postgres", "postgres:16"), container("exporter", "postgres-exporter:0.15")),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
				},
			}},
		},
	}
}

func daemonSet(ns, name string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: meta(ns, name, map[string]string{"app": name}),
		Spec:       appsv1.DaemonSetSpec{Selector: selector(name), Template: podTemplate(name, container("agent", "log-agent:2.1"))},
	}
}

func cronJob(ns, name string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: meta(ns, name, map[string]string{"app": name}),
		Spec: batchv1.CronJobSpec{
			Schedule: "0 3 * * *", ConcurrencyPolicy: batchv1.ForbidConcurrent,
			JobTemplate: batchv1.JobTemplateSpec{Spec: jobSpec(name)},
		},
	}
}

func jobSpec(app string) batchv1.JobSpec {
	t := podTemplate(app, container("report", "report:1.0"))
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	return batchv1.JobSpec{Template: t}
}

func job(ns, name, cronJob string) *batchv1.Job {
	app := cronJob
	if app == "" {
		app = name
	}
	j := &batchv1.Job{ObjectMeta: meta(ns, name, map[string]string{"app": app}), Spec: jobSpec(app)}
	// Jobs need a selector when their labels are set by hand.
	j.Spec.ManualSelector = ptr.To(true)
	j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"job-name": name}}
	j.Spec.Template.Labels = map[string]string{"app": app, "job-name": name}
	if cronJob != "" {
		owned(j, "batch/v1", "CronJob", cronJob)
	}
	return j
}

func pod(ns, name, node string, labels map[string]string, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: meta(ns, name, labels),
		// No token automount: the apiserver would add a projected volume with
		// a random name to each pod; the frontend pods carry their own.
		Spec: corev1.PodSpec{
			NodeName: node, Containers: containers, RestartPolicy: corev1.RestartPolicyAlways,
			AutomountServiceAccountToken: ptr.To(false),
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

// owned makes obj controlled by the named owner; the UID is filled in when
// the owner is created.
func owned[T metav1.Object](obj T, apiVersion, kind, name string) T {
	obj.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: apiVersion, Kind: kind, Name: name, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}})
	return obj
}

func frontendPod(name, node string) *corev1.Pod {
	c := container("frontend", "registry.example/frontend:1.0")
	c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "frontend-config"}}}}
	c.Env = []corev1.EnvVar{
		{Name: "API_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "api-token"}, Key: "password"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "INLINE_PASSWORD", Value: SecretValue},
	}
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "config", MountPath: "/etc/frontend", ReadOnly: true},
		{Name: "tls", MountPath: "/tls", ReadOnly: true},
		{Name: "cache", MountPath: "/cache"},
		{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true},
	}
	init := container("wait-for-cart", "busybox")
	init.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/config", ReadOnly: true}}
	p := pod("shop", name, node, map[string]string{"app": "frontend", "pod-template-hash": "6d4cf56db6"}, c)
	p.Spec.InitContainers = []corev1.Container{init}
	p.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "frontend-config"}}}},
		{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "frontend-tls"}}},
		{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To(int64(3607))}},
			// kube-root-ca.crt does not exist in the scenario: the relation
			// to it must not be published (no dangling relations).
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "api-token"}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
		}}}},
	}
	return owned(p, "apps/v1", "ReplicaSet", "frontend-6d4cf56db6")
}

func cartPod(name, node string) *corev1.Pod {
	c := container("cart", "registry.example/cart:1.0")
	c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cart-db-credentials"}}}}
	c.Env = []corev1.EnvVar{{Name: "CART_MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cart-config"}, Key: "mode"}}}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "logs", MountPath: "/var/log/cart"}, {Name: "podinfo", MountPath: "/etc/podinfo", ReadOnly: true}}
	p := pod("shop", name, node, map[string]string{"app": "cart", "pod-template-hash": "7c9d8b6f5"}, c)
	p.Spec.Volumes = []corev1.Volume{
		{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log/cart"}}},
		{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
	}
	return owned(p, "apps/v1", "ReplicaSet", "cart-7c9d8b6f5")
}

func postgresPod(i int, node string) *corev1.Pod {
	name := "postgres-" + string(rune('0'+i))
	pg := container("postgres", "postgres:16")
	pg.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "postgres-config"}}}}
	pg.Env = []corev1.EnvVar{{Name: "POSTGRES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "postgres-credentials"}, Key: "password"}}}}
	pg.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql/data"}}
	exp := container("exporter", "postgres-exporter:0.15")
	exp.Env = []corev1.EnvVar{{Name: "DATA_SOURCE_PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "postgres-credentials"}, Key: "password"}}}}
	exp.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: true}}
	p := pod("platform", name, node, map[string]string{"app": "postgres", "statefulset.kubernetes.io/pod-name": name}, pg, exp)
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-" + name}}}}
	return owned(p, "apps/v1", "StatefulSet", "postgres")
}

func logAgentPod(name, node string) *corev1.Pod {
	c := container("agent", "log-agent:2.1")
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "varlog", MountPath: "/var/log", ReadOnly: true},
		{Name: "config", MountPath: "/etc/log-agent"},
		{Name: "token", MountPath: "/var/run/token", ReadOnly: true},
	}
	p := pod("platform", name, node, map[string]string{"app": "log-agent"}, c)
	p.Spec.Volumes = []corev1.Volume{
		{Name: "varlog", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "log-agent-config"}}}},
		{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "log-agent-token"}}},
	}
	return owned(p, "apps/v1", "DaemonSet", "log-agent")
}

func jobPod(ns, name, job, node string, phase corev1.PodPhase) *corev1.Pod {
	p := pod(ns, name, node, map[string]string{"job-name": job}, container("report", "report:1.0"))
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Status.Phase = phase
	return owned(p, "batch/v1", "Job", job)
}

func ingress(ns, name string) *networkingv1.Ingress {
	backend := func(svc string) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}}
	}
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: meta(ns, name, map[string]string{"app.kubernetes.io/name": name}),
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("nginx"),
			DefaultBackend:   ptr.To(backend("frontend")),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "frontend-tls"}},
			Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
				{Path: "/", PathType: &prefix, Backend: backend("frontend")},
				{Path: "/cart", PathType: &prefix, Backend: backend("cart")},
			}}}}},
		},
		Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{
			{IP: "203.0.113.10"}, {Hostname: "lb.shop.example.com"},
		}}},
	}
}

func endpointSlice(ns, name, svc, pod string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: meta(ns, name, map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "staff.example.com",
		}),
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{"10.244.1.17"},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("pg"), Port: ptr.To(int32(5432))}},
	}
}

func volumeAttachment(name, node, pv string) *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{
		ObjectMeta: meta("", name, nil),
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "ebs.csi.aws.com", NodeName: node,
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(pv)},
		},
	}
}
