package topology

import corev1 "k8s.io/api/core/v1"

// MapPersistentVolume maps a PV and the storage behind it: the PV exposes a
// volume-source component (an NFS export, a cloud disk, a CSI volume ...).
func MapPersistentVolume(u URNs, pv *corev1.PersistentVolume) Result {
	var r Result
	c := objectComponent(u, TypePersistentVolume, pv, Label{"persistentvolume", pv.Name})
	r.add(c)
	if urn, kind, ok := persistentVolumeSource(pv.Spec.PersistentVolumeSource); ok {
		r.add(Component{
			URN: urn, Type: TypeVolumeSource, Name: urn[len(externalVolumePrefix):],
			Identity: []Label{{"volume_source_kind", kind}},
		})
		r.relate(RelExposes, c.Type, c.URN, TypeVolumeSource, urn)
	}
	return r
}
