package topology

import corev1 "k8s.io/api/core/v1"

// MapPersistentVolumeClaim maps a PVC; once bound it exposes its volume.
func MapPersistentVolumeClaim(u URNs, pvc *corev1.PersistentVolumeClaim) Result {
	var r Result
	c := objectComponent(u, TypePersistentVolumeClaim, pvc, Label{"persistentvolumeclaim", pvc.Name})
	r.add(c)
	if pv := pvc.Spec.VolumeName; pv != "" {
		r.relate(RelExposes, c.Type, c.URN, TypePersistentVolume, u.Object(TypePersistentVolume, "", pv))
	}
	return r
}
