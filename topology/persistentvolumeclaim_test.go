package topology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestMapPersistentVolumeClaim(t *testing.T) {
	const pvcURN = "urn:kubernetes:/prod:shop:persistent-volume-claim/data-db-0"
	tests := []struct {
		name   string
		labels map[string]string
		volume string
		phase  corev1.PersistentVolumeClaimPhase
		want   []string
	}{
		{
			name:   "bound claim exposes its volume",
			labels: map[string]string{"app": "db"},
			volume: "pvc-3f1c",
			phase:  corev1.ClaimBound,
			want: []string{
				"component persistent-volume-claim " + pvcURN + " ns=shop name=data-db-0 uid=pvc-uid identity=[persistentvolumeclaim=data-db-0] labels={app=db}",
				"relation exposes persistent-volume-claim " + pvcURN + " -> persistent-volume urn:kubernetes:/prod:persistent-volume/pvc-3f1c",
			},
		},
		{
			name:  "pending claim exposes nothing",
			phase: corev1.ClaimPending,
			want: []string{
				"component persistent-volume-claim " + pvcURN + " ns=shop name=data-db-0 uid=pvc-uid identity=[persistentvolumeclaim=data-db-0] labels={}",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pvc := &corev1.PersistentVolumeClaim{
				ObjectMeta: objectMeta("shop", "data-db-0", "pvc-uid", tt.labels),
				Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: tt.volume},
				Status:     corev1.PersistentVolumeClaimStatus{Phase: tt.phase},
			}
			assertResult(t, MapPersistentVolumeClaim(testURNs, pvc), tt.want)
		})
	}
}
