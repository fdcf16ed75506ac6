package topology

import storagev1 "k8s.io/api/storage/v1"

// MapVolumeAttachment declares node → persistent-volume for a PV attached to
// a node. A VolumeAttachment is not a component of its own.
func MapVolumeAttachment(u URNs, va *storagev1.VolumeAttachment) Result {
	var r Result
	pv := va.Spec.Source.PersistentVolumeName
	if pv == nil || *pv == "" || va.Spec.NodeName == "" {
		return r
	}
	r.relate(RelExposes, TypeNode, u.Object(TypeNode, "", va.Spec.NodeName),
		TypePersistentVolume, u.Object(TypePersistentVolume, "", *pv))
	return r
}
