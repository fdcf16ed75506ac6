package topology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

func TestMapVolumeAttachment(t *testing.T) {
	tests := []struct {
		name   string
		node   string
		source storagev1.VolumeAttachmentSource
		want   []string
	}{
		{
			name:   "attached persistent volume: node exposes it",
			node:   "node-1",
			source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptrTo("pvc-3f1c")},
			want: []string{
				"relation exposes node urn:kubernetes:/prod:node/node-1 -> persistent-volume urn:kubernetes:/prod:persistent-volume/pvc-3f1c",
			},
		},
		{
			name:   "inline volume spec without persistentVolumeName: nothing",
			node:   "node-1",
			source: storagev1.VolumeAttachmentSource{InlineVolumeSpec: &corev1.PersistentVolumeSpec{}},
			want:   nil,
		},
		{
			name:   "empty persistentVolumeName: nothing",
			node:   "node-1",
			source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptrTo("")},
			want:   nil,
		},
		{
			name:   "no node: nothing",
			source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptrTo("pvc-3f1c")},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			va := &storagev1.VolumeAttachment{
				ObjectMeta: objectMeta("", "csi-0123abcd", "va-uid", nil),
				Spec:       storagev1.VolumeAttachmentSpec{Attacher: "ebs.csi.aws.com", NodeName: tt.node, Source: tt.source},
			}
			assertResult(t, MapVolumeAttachment(testURNs, va), tt.want)
		})
	}
}
