package scenario

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// RealisticUnitPods is the number of pods one RealisticUnit runs once the
// controllers have acted on it (Jobs of its CronJob not counted).
const RealisticUnitPods = 1000

// RealisticStorageClass is the storage class of the static PVs RealisticUnit's
// StatefulSet claims bind to. No StorageClass object exists: the PV controller
// binds claims to PVs of the same class name right away.
const RealisticStorageClass = "bench-static"

// Shape of one unit: web Deployments of 100 pods, small worker Deployments,
// one StatefulSet with a claim per pod, one CronJob.
const (
	unitWebDeployments    = 9
	unitWebReplicas       = 100
	unitWorkerDeployments = 4
	unitWorkerReplicas    = 20
	unitDBReplicas        = 20
)

// RealisticNamespace is the namespace of unit u.
func RealisticNamespace(u int) string { return fmt.Sprintf("bench-%d", u) }

// RealisticUnit returns one namespace of a cluster for the scale benchmarks,
// to be applied to a real apiserver whose controllers create the rest: 9
// Deployments of 100 pods and 4 of 20 (each with a Service selecting its
// pods, a ConfigMap and a Secret its pods mount or read), a StatefulSet of 20
// pods with a PersistentVolumeClaim each (bound to the static PVs of
// RealisticPVs) behind a headless Service, and a CronJob running every 5
// minutes. That is RealisticUnitPods pods. The objects carry no owner
// references and no status: the controllers and kwok fill them in.
func RealisticUnit(u int) []runtime.Object {
	ns := RealisticNamespace(u)
	o := []runtime.Object{namespace(ns)}
	for i := 0; i < unitWebDeployments; i++ {
		app := fmt.Sprintf("web-%d", i)
		o = append(o, configMap(ns, app+"-config"), secret(ns, app+"-credentials"),
			service(ns, app, corev1.ServiceTypeClusterIP, map[string]string{"app": app}),
			benchDeployment(ns, app, unitWebReplicas, webPodSpec(app)))
	}
	for i := 0; i < unitWorkerDeployments; i++ {
		app := fmt.Sprintf("worker-%d", i)
		o = append(o, configMap(ns, app+"-config"), secret(ns, app+"-token"),
			service(ns, app, corev1.ServiceTypeClusterIP, map[string]string{"app": app}),
			benchDeployment(ns, app, unitWorkerReplicas, workerPodSpec(app)))
	}
	o = append(o, configMap(ns, "db-config"), secret(ns, "db-credentials"),
		headless(ns, "db", map[string]string{"app": "db"}), benchStatefulSet(ns, "db", unitDBReplicas))
	o = append(o, configMap(ns, "report-config"), benchCronJob(ns, "report"))
	return o
}

// RealisticPVs returns the static PersistentVolumes unit u's StatefulSet
// claims bind to (cluster-scoped, so they are created before the unit).
func RealisticPVs(u int) []runtime.Object {
	var o []runtime.Object
	for i := 0; i < unitDBReplicas; i++ {
		p := pvCSI(fmt.Sprintf("bench-%d-pv-%d", u, i), "ebs.csi.aws.com", fmt.Sprintf("vol-bench-%d-%d", u, i))
		p.Spec.StorageClassName = RealisticStorageClass
		p.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
		o = append(o, p)
	}
	return o
}

// RealisticReplicas returns the replicas unit u declares per workload
// ("Deployment/web-0", "StatefulSet/db"), for waiting until all are ready.
func RealisticReplicas() map[string]int32 {
	r := map[string]int32{"StatefulSet/db": unitDBReplicas}
	for i := 0; i < unitWebDeployments; i++ {
		r[fmt.Sprintf("Deployment/web-%d", i)] = unitWebReplicas
	}
	for i := 0; i < unitWorkerDeployments; i++ {
		r[fmt.Sprintf("Deployment/worker-%d", i)] = unitWorkerReplicas
	}
	return r
}

func benchTemplate(app string, spec corev1.PodSpec) corev1.PodTemplateSpec {
	spec.AutomountServiceAccountToken = ptr.To(false)
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app, "tier": "bench"}}, Spec: spec}
}

func benchDeployment(ns, app string, replicas int32, spec corev1.PodSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: meta(ns, app, map[string]string{"app": app, "app.kubernetes.io/name": app, "tier": "bench"}),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas), Selector: selector(app), Template: benchTemplate(app, spec),
		},
	}
}

// webPodSpec mounts the app's ConfigMap and reads a key of its Secret.
func webPodSpec(app string) corev1.PodSpec {
	c := container(app, "registry.example/"+app+":1.0")
	c.Env = []corev1.EnvVar{{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: app + "-credentials"}, Key: "password",
	}}}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/" + app, ReadOnly: true}}
	return corev1.PodSpec{Containers: []corev1.Container{c}, Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: app + "-config"}},
	}}}}
}

// workerPodSpec takes its environment from the ConfigMap and mounts the Secret.
func workerPodSpec(app string) corev1.PodSpec {
	c := container(app, "registry.example/"+app+":1.0")
	c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: app + "-config"}}}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "token", MountPath: "/var/run/token", ReadOnly: true}}
	return corev1.PodSpec{Containers: []corev1.Container{c}, Volumes: []corev1.Volume{{Name: "token", VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{SecretName: app + "-token"},
	}}}}
}

func benchStatefulSet(ns, name string, replicas int32) *appsv1.StatefulSet {
	c := container(name, "postgres:16")
	c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-config"}}}}
	c.Env = []corev1.EnvVar{{Name: "POSTGRES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name + "-credentials"}, Key: "password",
	}}}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql/data"}}
	return &appsv1.StatefulSet{
		ObjectMeta: meta(ns, name, map[string]string{"app": name, "tier": "bench"}),
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To(replicas), ServiceName: name, Selector: selector(name),
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Template:            benchTemplate(name, corev1.PodSpec{Containers: []corev1.Container{c}}),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: ptr.To(RealisticStorageClass),
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
}

func benchCronJob(ns, name string) *batchv1.CronJob {
	c := container(name, "registry.example/report:1.0")
	c.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/report", ReadOnly: true}}
	spec := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{c}, Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-config"}},
	}}}}
	return &batchv1.CronJob{
		ObjectMeta: meta(ns, name, map[string]string{"app": name, "tier": "bench"}),
		Spec: batchv1.CronJobSpec{
			Schedule: "*/5 * * * *", ConcurrencyPolicy: batchv1.ForbidConcurrent,
			SuccessfulJobsHistoryLimit: ptr.To(int32(2)), FailedJobsHistoryLimit: ptr.To(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: benchTemplate(name, spec)}},
		},
	}
}
