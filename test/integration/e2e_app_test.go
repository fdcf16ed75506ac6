//go:build integration

package integration

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The multi-tier application the end-to-end suite deploys: the controllers
// create its ReplicaSets, Pods, Jobs, PVC bindings and EndpointSlices.
const (
	shopNS = "e2e-shop"
	dataNS = "e2e-data"
)

func e2eApp() []runtime.Object {
	meta := func(ns, name string, l map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l}
	}
	app := func(a string) map[string]string { return map[string]string{"app": a, "tier": "e2e"} }
	ref := func(n string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: n} }
	ctr := func(name string) corev1.Container {
		return corev1.Container{Name: name, Image: "registry.example/" + name + ":1.0"}
	}
	tmpl := func(a string, spec corev1.PodSpec) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: app(a)}, Spec: spec}
	}
	sel := func(a string) *metav1.LabelSelector { return &metav1.LabelSelector{MatchLabels: app(a)} }
	pv := func(name string, src corev1.PersistentVolumeSource) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: meta("", name, map[string]string{"e2e": "true"}), Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, PersistentVolumeSource: src,
		}}
	}
	svc := func(ns, name string, typ corev1.ServiceType, selector map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: meta(ns, name, nil), Spec: corev1.ServiceSpec{Type: typ, Selector: selector,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	}

	web := ctr("web")
	web.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: ref("web-config")}}}
	web.Env = []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: ref("web-secret"), Key: "token"}}}}
	web.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/web", ReadOnly: true}, {Name: "cache", MountPath: "/cache"}, {Name: "bundle", MountPath: "/bundle", ReadOnly: true}}
	webSpec := corev1.PodSpec{Containers: []corev1.Container{web}, Volumes: []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("web-config")}}},
		{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "bundle", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: ref("web-config")}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: ref("web-secret")}},
		}}}},
	}}
	api := ctr("api")
	api.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref("api-secret")}}}
	api.Env = []corev1.EnvVar{{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: ref("api-config"), Key: "mode"}}}}
	api.VolumeMounts = []corev1.VolumeMount{{Name: "logs", MountPath: "/var/log/api"}}
	apiSpec := corev1.PodSpec{InitContainers: []corev1.Container{ctr("migrate")}, Containers: []corev1.Container{api}, Volumes: []corev1.Volume{
		{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log/api"}}},
	}}
	db := ctr("db")
	db.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/db"}}
	agent := ctr("agent")
	agent.VolumeMounts = []corev1.VolumeMount{{Name: "varlog", MountPath: "/var/log", ReadOnly: true}, {Name: "config", MountPath: "/etc/agent"}}
	report := ctr("report")
	reportSpec := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{report}}

	prefix := networkingv1.PathTypePrefix
	backend := func(s string) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: s, Port: networkingv1.ServiceBackendPort{Number: 80}}}
	}
	return []runtime.Object{
		&corev1.Namespace{ObjectMeta: meta("", shopNS, map[string]string{"team": "shop"})},
		&corev1.Namespace{ObjectMeta: meta("", dataNS, map[string]string{"team": "data"})},
		pv("pv-e2e-nfs", corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "10.0.0.5", Path: "/exports/e2e"}}),
		pv("pv-e2e-hostpath", corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/mnt/e2e"}}),
		pv("pv-e2e-csi", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-e2e"}}),
		&corev1.ConfigMap{ObjectMeta: meta(shopNS, "web-config", nil), Data: map[string]string{"LOG": "info"}},
		&corev1.ConfigMap{ObjectMeta: meta(shopNS, "api-config", nil), Data: map[string]string{"mode": "fast"}},
		&corev1.ConfigMap{ObjectMeta: meta(dataNS, "agent-config", nil), Data: map[string]string{"a": "b"}},
		&corev1.Secret{ObjectMeta: meta(shopNS, "web-secret", nil), StringData: map[string]string{"token": "e2e-secret-token"}},
		&corev1.Secret{ObjectMeta: meta(shopNS, "api-secret", nil), StringData: map[string]string{"PASSWORD": "e2e-secret-password"}},
		&appsv1.Deployment{ObjectMeta: meta(shopNS, "web", app("web")), Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(3)), Selector: sel("web"), Template: tmpl("web", webSpec)}},
		&appsv1.Deployment{ObjectMeta: meta(shopNS, "api", app("api")), Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(2)), Selector: sel("api"), Template: tmpl("api", apiSpec)}},
		&appsv1.StatefulSet{ObjectMeta: meta(dataNS, "db", app("db")), Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To(int32(2)), ServiceName: "db", Selector: sel("db"), Template: tmpl("db", corev1.PodSpec{Containers: []corev1.Container{db}}),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: ptr.To(""), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			}}},
		}},
		&appsv1.DaemonSet{ObjectMeta: meta(dataNS, "node-agent", app("node-agent")), Spec: appsv1.DaemonSetSpec{Selector: sel("node-agent"), Template: tmpl("node-agent", corev1.PodSpec{
			Containers: []corev1.Container{agent}, Volumes: []corev1.Volume{
				{Name: "varlog", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("agent-config")}}},
			}})}},
		&batchv1.CronJob{ObjectMeta: meta(dataNS, "report", app("report")), Spec: batchv1.CronJobSpec{
			Schedule: "* * * * *", ConcurrencyPolicy: batchv1.ForbidConcurrent, SuccessfulJobsHistoryLimit: ptr.To(int32(2)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl("report", reportSpec)}},
		}},
		svc(shopNS, "web", corev1.ServiceTypeClusterIP, app("web")),
		svc(shopNS, "web-nodeport", corev1.ServiceTypeNodePort, app("web")),
		svc(shopNS, "web-lb", corev1.ServiceTypeLoadBalancer, app("web")),
		svc(shopNS, "api", corev1.ServiceTypeClusterIP, app("api")),
		&corev1.Service{ObjectMeta: meta(dataNS, "db", nil), Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: app("db"), Ports: []corev1.ServicePort{{Port: 5432}}}},
		&corev1.Service{ObjectMeta: meta(shopNS, "payments", nil), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "payments.example.com"}},
		&networkingv1.Ingress{ObjectMeta: meta(shopNS, "shop", nil), Spec: networkingv1.IngressSpec{
			DefaultBackend: ptr.To(backend("web")),
			Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/api", PathType: &prefix, Backend: backend("api")}},
			}}}},
		}, Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "198.51.100.7"}}}}},
	}
}
