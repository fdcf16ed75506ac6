package scenario

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestRealisticUnit checks the unit adds up to RealisticUnitPods pods and
// that everything its pods use is part of it.
func TestRealisticUnit(t *testing.T) {
	objs := RealisticUnit(3)
	have := map[string]bool{}
	var templates []corev1.PodSpec
	var pods int32
	replicas := map[string]int32{}
	for _, o := range objs {
		switch x := o.(type) {
		case *corev1.ConfigMap:
			have["ConfigMap/"+x.Name] = true
		case *corev1.Secret:
			have["Secret/"+x.Name] = true
		case *corev1.Service:
			have["Service/"+x.Name] = true
		case *appsv1.Deployment:
			pods += *x.Spec.Replicas
			replicas["Deployment/"+x.Name] = *x.Spec.Replicas
			templates = append(templates, x.Spec.Template.Spec)
		case *appsv1.StatefulSet:
			pods += *x.Spec.Replicas
			replicas["StatefulSet/"+x.Name] = *x.Spec.Replicas
			templates = append(templates, x.Spec.Template.Spec)
			if !have["Service/"+x.Spec.ServiceName] {
				t.Errorf("StatefulSet %s: governing Service %s missing", x.Name, x.Spec.ServiceName)
			}
		case *batchv1.CronJob:
			templates = append(templates, x.Spec.JobTemplate.Spec.Template.Spec)
		}
		if m, ok := o.(interface{ GetNamespace() string }); ok {
			if _, isNS := o.(*corev1.Namespace); !isNS && m.GetNamespace() != RealisticNamespace(3) {
				t.Errorf("%T in namespace %q, want %q", o, m.GetNamespace(), RealisticNamespace(3))
			}
		}
	}
	if pods != RealisticUnitPods {
		t.Errorf("unit declares %d pods, want %d", pods, RealisticUnitPods)
	}
	want := RealisticReplicas()
	if len(want) != len(replicas) {
		t.Errorf("RealisticReplicas has %d workloads, the unit %d", len(want), len(replicas))
	}
	for k, n := range replicas {
		if want[k] != n {
			t.Errorf("RealisticReplicas[%s] = %d, the unit declares %d", k, want[k], n)
		}
	}
	for _, s := range templates {
		for _, v := range s.Volumes {
			if v.ConfigMap != nil && !have["ConfigMap/"+v.ConfigMap.Name] {
				t.Errorf("volume of missing ConfigMap %s", v.ConfigMap.Name)
			}
			if v.Secret != nil && !have["Secret/"+v.Secret.SecretName] {
				t.Errorf("volume of missing Secret %s", v.Secret.SecretName)
			}
		}
		for _, c := range s.Containers {
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil && !have["ConfigMap/"+e.ConfigMapRef.Name] {
					t.Errorf("envFrom missing ConfigMap %s", e.ConfigMapRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !have["Secret/"+e.ValueFrom.SecretKeyRef.Name] {
					t.Errorf("env from missing Secret %s", e.ValueFrom.SecretKeyRef.Name)
				}
			}
		}
	}
	if n := len(RealisticPVs(3)); n != int(want["StatefulSet/db"]) {
		t.Errorf("%d PVs for %d StatefulSet claims", n, want["StatefulSet/db"])
	}
}
