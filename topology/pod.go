package topology

import (
	corev1 "k8s.io/api/core/v1"
)

// MapPod maps a Pod: the pod, its containers and the volumes that live with
// it, and every relation the pod knows of — its node, its controller (or its
// namespace), its containers, and the ConfigMaps, Secrets, claims and volumes
// it uses and mounts.
func MapPod(u URNs, p *corev1.Pod) Result {
	var r Result
	pod := objectComponent(u, TypePod, p, Label{"pod", p.Name})
	r.add(pod)

	var node string
	if p.Spec.NodeName != "" {
		node = u.Object(TypeNode, "", p.Spec.NodeName)
		r.relate(RelScheduledOn, TypePod, pod.URN, TypeNode, node)
	}

	switch typ, owner, ok := modelledOwner(u, p); {
	case ok && typ == TypeJob:
		// A Job stops controlling its pods once they have finished.
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			r.relate(RelControls, typ, owner, TypePod, pod.URN)
		}
	case ok && (typ == TypeReplicaSet || typ == TypeStatefulSet || typ == TypeDaemonSet):
		r.relate(RelControls, typ, owner, TypePod, pod.URN)
	default:
		r.enclosedBy(u, pod)
	}

	volumes := make(map[string]endpoint, len(p.Spec.Volumes))
	for i := range p.Spec.Volumes {
		v := &p.Spec.Volumes[i]
		target, ok := podVolume(u, p, v, &r)
		if !ok {
			continue
		}
		volumes[v.Name] = target
		r.relate(RelClaims, TypePod, pod.URN, target.typ, target.urn)
	}

	refs := podRefs{u: u, pod: pod, seen: map[string]bool{}, r: &r}
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range list {
			c := &list[i]
			cc := Component{
				URN: u.Container(p.Namespace, p.Name, c.Name), Type: TypeContainer,
				Namespace: p.Namespace, Name: c.Name,
				Identity: []Label{{"pod", p.Name}, {"container", c.Name}},
			}
			r.add(cc)
			r.relate(RelEncloses, TypePod, pod.URN, TypeContainer, cc.URN)
			if node != "" {
				r.relate(RelRunsOn, TypeContainer, cc.URN, TypeNode, node)
			}
			refs.container(c)
			for _, m := range c.VolumeMounts {
				if t, ok := volumes[m.Name]; ok {
					r.relate(RelMounts, TypeContainer, cc.URN, t.typ, t.urn,
						Label{"mount_path", m.MountPath}, Label{"read_only", boolString(m.ReadOnly)})
				}
			}
		}
	}
	return r
}

type endpoint struct{ typ, urn string }

// podVolume returns what a pod volume claims, adding the volume component
// (and what a projected volume projects) when the volume is one.
func podVolume(u URNs, p *corev1.Pod, v *corev1.Volume, r *Result) (endpoint, bool) {
	ns := p.Namespace
	switch {
	case v.ConfigMap != nil:
		return endpoint{TypeConfigMap, u.Object(TypeConfigMap, ns, v.ConfigMap.Name)}, true
	case v.Secret != nil:
		return endpoint{TypeSecret, u.Object(TypeSecret, ns, v.Secret.SecretName)}, true
	case v.PersistentVolumeClaim != nil:
		return endpoint{TypePersistentVolumeClaim, u.Object(TypePersistentVolumeClaim, ns, v.PersistentVolumeClaim.ClaimName)}, true
	case v.Ephemeral != nil:
		// A generic ephemeral volume is a PVC named <pod>-<volume>.
		return endpoint{TypePersistentVolumeClaim, u.Object(TypePersistentVolumeClaim, ns, p.Name+"-"+v.Name)}, true
	}
	if urn, kind, ok := inlineExternalVolume(v.VolumeSource, p.Spec.NodeName); ok {
		r.add(Component{
			URN: urn, Type: TypeVolume, Name: urn[len(externalVolumePrefix):],
			Identity: []Label{{"volume_kind", kind}},
		})
		return endpoint{TypeVolume, urn}, true
	}
	if v.HostPath != nil && p.Spec.NodeName == "" {
		return endpoint{}, false // becomes a host's volume once scheduled
	}
	vol := Component{
		URN: u.Object(TypeVolume, ns, p.Name+"/"+v.Name), Type: TypeVolume, Namespace: ns, Name: v.Name,
		Identity: []Label{{"pod", p.Name}, {"volume", v.Name}, {"volume_kind", podVolumeKind(v.VolumeSource)}},
	}
	r.add(vol)
	if v.Projected != nil {
		seen := map[string]bool{}
		for _, s := range v.Projected.Sources {
			var typ, name string
			switch {
			case s.ConfigMap != nil:
				typ, name = TypeConfigMap, s.ConfigMap.Name
			case s.Secret != nil:
				typ, name = TypeSecret, s.Secret.Name
			default:
				continue
			}
			target := u.Object(typ, ns, name)
			if !seen[target] {
				seen[target] = true
				r.relate(RelProjects, TypeVolume, vol.URN, typ, target)
			}
		}
	}
	return endpoint{TypeVolume, vol.URN}, true
}

// podRefs collects pod → ConfigMap/Secret relations from environment
// references, once per pod however many containers repeat them.
type podRefs struct {
	u    URNs
	pod  Component
	seen map[string]bool
	r    *Result
}

func (pr *podRefs) add(rel, typ, name string) {
	x := Relation{
		Type: rel, Source: pr.pod.URN, SourceType: TypePod,
		Target: pr.u.Object(typ, pr.pod.Namespace, name), TargetType: typ,
	}
	if key := rel + " " + x.Target; !pr.seen[key] {
		pr.seen[key] = true
		pr.r.Relations = append(pr.r.Relations, x)
	}
}

func (pr *podRefs) container(c *corev1.Container) {
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			pr.add(RelUses, TypeConfigMap, ef.ConfigMapRef.Name)
		}
		if ef.SecretRef != nil {
			pr.add(RelUses, TypeSecret, ef.SecretRef.Name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
			pr.add(RelUsesValue, TypeConfigMap, ref.Name)
		}
		if ref := e.ValueFrom.SecretKeyRef; ref != nil {
			pr.add(RelUsesValue, TypeSecret, ref.Name)
		}
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
