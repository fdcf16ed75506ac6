package scenario

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Scale returns a cluster shaped like the benchmarks' reference one: nodes,
// one namespace per 10 Deployments, and per Deployment a ReplicaSet, a
// Service selecting its pods, a ConfigMap its pods mount and a Secret they
// read a value from, and podsPer pods spread over the nodes.
func Scale(nodes, deployments, podsPer int) []runtime.Object {
	var o []runtime.Object
	for n := 0; n < nodes; n++ {
		o = append(o, node(fmt.Sprintf("kwok-node-%d", n), fmt.Sprintf("zone-%d", n%3)))
	}
	for d := 0; d < deployments; d++ {
		ns := fmt.Sprintf("team-%d", d/10)
		if d%10 == 0 {
			o = append(o, namespace(ns))
		}
		app := fmt.Sprintf("app-%d", d)
		rsName := app + "-7c9d8b6f5"
		o = append(o,
			configMap(ns, app+"-config"), secret(ns, app+"-credentials"),
			service(ns, app, corev1.ServiceTypeClusterIP, map[string]string{"app": app}),
			deployment(ns, app, int32(podsPer), app),
			replicaSet(ns, rsName, app, int32(podsPer), app),
		)
		for p := 0; p < podsPer; p++ {
			o = append(o, scalePod(ns, fmt.Sprintf("%s-%05d", rsName, p), rsName, app, fmt.Sprintf("kwok-node-%d", (d*podsPer+p)%nodes)))
		}
	}
	return o
}

func scalePod(ns, name, rs, app, node string) *corev1.Pod {
	c := container(app, "registry.example/"+app+":1.0")
	c.Env = []corev1.EnvVar{{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: app + "-credentials"}, Key: "password",
	}}}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/" + app, ReadOnly: true}}
	p := pod(ns, name, node, map[string]string{"app": app, "pod-template-hash": "7c9d8b6f5"}, c)
	p.Spec.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: app + "-config"}},
	}}}
	return owned(p, "apps/v1", "ReplicaSet", rs)
}
