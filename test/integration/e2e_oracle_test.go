//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// The oracle: what SPEC.md says the topology of whatever the apiserver holds
// must be, written from the SPEC's tables and URN grammar independently of
// the topology package. The end-to-end suite compares it with what the real
// Prometheus scraped from the real agent.

type oracle struct {
	cluster string
	comps   map[string]string // urn → type
	rels    set               // "type src -> tgt[ attrs]"
}

func relKey(typ, src, tgt string, attrs ...string) string {
	k := typ + " " + src + " -> " + tgt
	if len(attrs) > 0 {
		k += " " + strings.Join(attrs, " ")
	}
	return k
}

// expectedTopology lists every object the agent watches and derives the topology.
func expectedTopology(t *testing.T, ctx context.Context, c kubernetes.Interface, cluster string) *oracle {
	t.Helper()
	o := &oracle{cluster: cluster, comps: map[string]string{}, rels: set{}}
	prefix := "urn:kubernetes:/" + cluster
	obj := func(kind, ns, name string) string {
		if ns == "" {
			return prefix + ":" + kind + "/" + name
		}
		return prefix + ":" + ns + ":" + kind + "/" + name
	}
	var candidates []string // relations before the both-ends-exist rule
	rel := func(typ, src, tgt string, attrs ...string) {
		candidates = append(candidates, relKey(typ, src, tgt, attrs...))
	}
	lo := metav1.ListOptions{}
	must := func(err error) {
		if err != nil {
			t.Fatalf("listing for the oracle: %v", err)
		}
	}

	clusterURN := "urn:cluster:/kubernetes:" + cluster
	o.comps[clusterURN] = "cluster"
	nss, err := c.CoreV1().Namespaces().List(ctx, lo)
	must(err)
	for _, n := range nss.Items {
		o.comps[obj("namespace", "", n.Name)] = "namespace"
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, lo)
	must(err)
	for _, n := range nodes.Items {
		o.comps[obj("node", "", n.Name)] = "node"
		rel("belongs_to", obj("node", "", n.Name), clusterURN)
	}
	enclose := func(ns, kind, name string) { rel("encloses", obj("namespace", "", ns), obj(kind, ns, name)) }
	controller := func(m metav1.Object) (kind, name string) {
		for _, r := range m.GetOwnerReferences() {
			if r.Controller != nil && *r.Controller {
				return r.Kind, r.Name
			}
		}
		return "", ""
	}

	deps, err := c.AppsV1().Deployments("").List(ctx, lo)
	must(err)
	for _, d := range deps.Items {
		o.comps[obj("deployment", d.Namespace, d.Name)] = "deployment"
		enclose(d.Namespace, "deployment", d.Name)
	}
	stss, err := c.AppsV1().StatefulSets("").List(ctx, lo)
	must(err)
	for _, s := range stss.Items {
		o.comps[obj("statefulset", s.Namespace, s.Name)] = "statefulset"
		enclose(s.Namespace, "statefulset", s.Name)
	}
	dss, err := c.AppsV1().DaemonSets("").List(ctx, lo)
	must(err)
	for _, d := range dss.Items {
		o.comps[obj("daemonset", d.Namespace, d.Name)] = "daemonset"
		enclose(d.Namespace, "daemonset", d.Name)
	}
	cjs, err := c.BatchV1().CronJobs("").List(ctx, lo)
	must(err)
	for _, cj := range cjs.Items {
		o.comps[obj("cronjob", cj.Namespace, cj.Name)] = "cronjob"
		enclose(cj.Namespace, "cronjob", cj.Name)
	}
	rss, err := c.AppsV1().ReplicaSets("").List(ctx, lo)
	must(err)
	for _, rs := range rss.Items {
		o.comps[obj("replicaset", rs.Namespace, rs.Name)] = "replicaset"
		if k, n := controller(&rs); k == "Deployment" {
			rel("controls", obj("deployment", rs.Namespace, n), obj("replicaset", rs.Namespace, rs.Name))
		} else {
			enclose(rs.Namespace, "replicaset", rs.Name)
		}
	}
	jobs, err := c.BatchV1().Jobs("").List(ctx, lo)
	must(err)
	for _, j := range jobs.Items {
		o.comps[obj("job", j.Namespace, j.Name)] = "job"
		if k, n := controller(&j); k == "CronJob" {
			rel("creates", obj("cronjob", j.Namespace, n), obj("job", j.Namespace, j.Name))
		} else {
			enclose(j.Namespace, "job", j.Name)
		}
	}
	for _, kind := range []string{"configmap", "secret"} {
		var names [][2]string
		if kind == "configmap" {
			l, err := c.CoreV1().ConfigMaps("").List(ctx, lo)
			must(err)
			for _, x := range l.Items {
				names = append(names, [2]string{x.Namespace, x.Name})
			}
		} else {
			l, err := c.CoreV1().Secrets("").List(ctx, lo)
			must(err)
			for _, x := range l.Items {
				names = append(names, [2]string{x.Namespace, x.Name})
			}
		}
		for _, n := range names {
			o.comps[obj(kind, n[0], n[1])] = kind
		}
	}
	pvs, err := c.CoreV1().PersistentVolumes().List(ctx, lo)
	must(err)
	for _, pv := range pvs.Items {
		o.comps[obj("persistent-volume", "", pv.Name)] = "persistent-volume"
		var src string
		switch s := pv.Spec.PersistentVolumeSource; {
		case s.NFS != nil:
			src = "nfs/" + s.NFS.Server + "/" + s.NFS.Path
		case s.HostPath != nil:
			src = "hostpath/" + strings.TrimPrefix(s.HostPath.Path, "/")
		case s.CSI != nil:
			src = "csi/" + s.CSI.Driver + "/" + s.CSI.VolumeHandle
		}
		if src != "" {
			vs := "urn:kubernetes:external-volume:" + src
			o.comps[vs] = "volume-source"
			rel("exposes", obj("persistent-volume", "", pv.Name), vs)
		}
	}
	pvcs, err := c.CoreV1().PersistentVolumeClaims("").List(ctx, lo)
	must(err)
	for _, pvc := range pvcs.Items {
		o.comps[obj("persistent-volume-claim", pvc.Namespace, pvc.Name)] = "persistent-volume-claim"
		if pvc.Spec.VolumeName != "" {
			rel("exposes", obj("persistent-volume-claim", pvc.Namespace, pvc.Name), obj("persistent-volume", "", pvc.Spec.VolumeName))
		}
	}
	vas, err := c.StorageV1().VolumeAttachments().List(ctx, lo)
	must(err)
	for _, va := range vas.Items {
		if pv := va.Spec.Source.PersistentVolumeName; pv != nil {
			rel("exposes", obj("node", "", va.Spec.NodeName), obj("persistent-volume", "", *pv))
		}
	}

	pods, err := c.CoreV1().Pods("").List(ctx, lo)
	must(err)
	for i := range pods.Items {
		o.pod(&pods.Items[i], obj, rel, enclose, controller)
	}

	svcs, err := c.CoreV1().Services("").List(ctx, lo)
	must(err)
	for _, s := range svcs.Items {
		svc := obj("service", s.Namespace, s.Name)
		o.comps[svc] = "service"
		enclose(s.Namespace, "service", s.Name)
		if s.Spec.Type == corev1.ServiceTypeExternalName {
			ext := obj("external-service", s.Namespace, s.Name)
			o.comps[ext] = "external-service"
			rel("uses", svc, ext)
			continue
		}
		if len(s.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(s.Spec.Selector)
		for _, p := range pods.Items {
			if p.Namespace == s.Namespace && sel.Matches(labels.Set(p.Labels)) {
				rel("exposes", svc, obj("pod", p.Namespace, p.Name))
			}
		}
	}
	ings, err := c.NetworkingV1().Ingresses("").List(ctx, lo)
	must(err)
	for _, ing := range ings.Items {
		in := obj("ingress", ing.Namespace, ing.Name)
		o.comps[in] = "ingress"
		if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil {
			rel("routes", in, obj("service", ing.Namespace, b.Service.Name))
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				if p.Backend.Service != nil {
					rel("routes", in, obj("service", ing.Namespace, p.Backend.Service.Name))
				}
			}
		}
		for _, lb := range ing.Status.LoadBalancer.Ingress {
			for _, a := range []string{lb.IP, lb.Hostname} {
				if a != "" {
					ep := "urn:endpoint:/" + cluster + ":" + a
					o.comps[ep] = "endpoint"
					rel("routes", ep, in)
				}
			}
		}
	}

	// No dangling relations: only those whose two ends exist.
	for _, k := range candidates {
		parts := strings.SplitN(k, " ", 5)
		if o.comps[parts[1]] != "" && o.comps[parts[3]] != "" {
			o.rels[k] = true
		}
	}
	return o
}

func (o *oracle) pod(p *corev1.Pod, obj func(kind, ns, name string) string, rel func(typ, src, tgt string, attrs ...string),
	enclose func(ns, kind, name string), controller func(metav1.Object) (string, string)) {
	pod := obj("pod", p.Namespace, p.Name)
	o.comps[pod] = "pod"
	node := ""
	if p.Spec.NodeName != "" {
		node = obj("node", "", p.Spec.NodeName)
		rel("scheduled_on", pod, node)
	}
	switch k, n := controller(p); k {
	case "ReplicaSet", "StatefulSet", "DaemonSet":
		rel("controls", obj(strings.ToLower(k), p.Namespace, n), pod)
	case "Job":
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			rel("controls", obj("job", p.Namespace, n), pod)
		}
	default:
		enclose(p.Namespace, "pod", p.Name)
	}
	vols := map[string]string{}
	for _, v := range p.Spec.Volumes {
		var target string
		switch {
		case v.ConfigMap != nil:
			target = obj("configmap", p.Namespace, v.ConfigMap.Name)
		case v.Secret != nil:
			target = obj("secret", p.Namespace, v.Secret.SecretName)
		case v.PersistentVolumeClaim != nil:
			target = obj("persistent-volume-claim", p.Namespace, v.PersistentVolumeClaim.ClaimName)
		case v.HostPath != nil:
			if p.Spec.NodeName == "" {
				continue
			}
			target = "urn:kubernetes:external-volume:hostpath/" + p.Spec.NodeName + "/" + strings.TrimPrefix(v.HostPath.Path, "/")
			o.comps[target] = "volume"
		default:
			target = obj("volume", p.Namespace, p.Name+"/"+v.Name)
			o.comps[target] = "volume"
			if v.Projected != nil {
				for _, s := range v.Projected.Sources {
					if s.ConfigMap != nil {
						rel("projects", target, obj("configmap", p.Namespace, s.ConfigMap.Name))
					}
					if s.Secret != nil {
						rel("projects", target, obj("secret", p.Namespace, s.Secret.Name))
					}
				}
			}
		}
		vols[v.Name] = target
		rel("claims", pod, target)
	}
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range list {
			cu := pod + ":container/" + c.Name
			o.comps[cu] = "container"
			rel("encloses", pod, cu)
			if node != "" {
				rel("runs_on", cu, node)
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					rel("uses", pod, obj("configmap", p.Namespace, ef.ConfigMapRef.Name))
				}
				if ef.SecretRef != nil {
					rel("uses", pod, obj("secret", p.Namespace, ef.SecretRef.Name))
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					rel("uses_value", pod, obj("configmap", p.Namespace, e.ValueFrom.ConfigMapKeyRef.Name))
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					rel("uses_value", pod, obj("secret", p.Namespace, e.ValueFrom.SecretKeyRef.Name))
				}
			}
			for _, m := range c.VolumeMounts {
				if t, ok := vols[m.Name]; ok {
					rel("mounts", cu, t, "mount_path="+m.MountPath, fmt.Sprintf("read_only=%t", m.ReadOnly))
				}
			}
		}
	}
}
