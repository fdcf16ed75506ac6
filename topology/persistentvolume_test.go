package topology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestMapPersistentVolume(t *testing.T) {
	const pvURN = "urn:kubernetes:/prod:persistent-volume/pv-1"
	pvComponent := "component persistent-volume " + pvURN + " ns= name=pv-1 uid=pv-uid identity=[persistentvolume=pv-1] labels={}"
	// source is what a PV with a volume source contributes besides itself.
	source := func(urn, name, kind string) []string {
		return []string{
			pvComponent,
			"component volume-source " + urn + " ns= name=" + name + " uid= identity=[volume_source_kind=" + kind + "] labels=nil",
			"relation exposes persistent-volume " + pvURN + " -> volume-source " + urn,
		}
	}
	tests := []struct {
		name   string
		labels map[string]string
		src    corev1.PersistentVolumeSource
		want   []string
	}{
		{
			name: "NFS",
			src:  corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "10.0.0.5", Path: "/exports/data"}},
			want: source("urn:kubernetes:external-volume:nfs/10.0.0.5//exports/data", "nfs/10.0.0.5//exports/data", "nfs"),
		},
		{
			name: "CSI",
			src:  corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-0abc123"}},
			want: source("urn:kubernetes:external-volume:csi/ebs.csi.aws.com/vol-0abc123", "csi/ebs.csi.aws.com/vol-0abc123", "csi"),
		},
		{
			name: "CSI without a driver has no known source",
			src:  corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{VolumeHandle: "vol-0abc123"}},
			want: []string{pvComponent},
		},
		{
			name: "hostPath (leading slash trimmed)",
			src:  corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/mnt/data"}},
			want: source("urn:kubernetes:external-volume:hostpath/mnt/data", "hostpath/mnt/data", "hostpath"),
		},
		{
			name: "local (leading slash trimmed)",
			src:  corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disks/ssd1"}},
			want: source("urn:kubernetes:external-volume:local/mnt/disks/ssd1", "local/mnt/disks/ssd1", "local"),
		},
		{
			name: "AWS EBS with aws:// prefix and partition",
			src:  corev1.PersistentVolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "aws://eu-west-1a/vol-0abc123", Partition: 2}},
			want: source("urn:kubernetes:external-volume:aws-ebs/eu-west-1a/vol-0abc123/2", "aws-ebs/eu-west-1a/vol-0abc123/2", "aws-ebs"),
		},
		{
			name: "AWS EBS bare volume id, partition 0",
			src:  corev1.PersistentVolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "vol-0abc123"}},
			want: source("urn:kubernetes:external-volume:aws-ebs/vol-0abc123/0", "aws-ebs/vol-0abc123/0", "aws-ebs"),
		},
		{
			name: "RBD uses the first monitor",
			src: corev1.PersistentVolumeSource{RBD: &corev1.RBDPersistentVolumeSource{
				CephMonitors: []string{"10.0.0.1:6789", "10.0.0.2:6789"}, RBDPool: "kube", RBDImage: "img-1",
			}},
			want: source("urn:kubernetes:external-volume:rbd/10.0.0.1:6789/kube-image-img-1", "rbd/10.0.0.1:6789/kube-image-img-1", "rbd"),
		},
		{
			name: "FC with target WWN and LUN",
			src:  corev1.PersistentVolumeSource{FC: &corev1.FCVolumeSource{TargetWWNs: []string{"500a0982991b8dc5", "500a0982891b8dc5"}, Lun: ptrTo(int32(2))}},
			want: source("urn:kubernetes:external-volume:fibre-channel/500a0982991b8dc5-lun-2", "fibre-channel/500a0982991b8dc5-lun-2", "fibre-channel"),
		},
		{
			name: "FC with WWIDs",
			src:  corev1.PersistentVolumeSource{FC: &corev1.FCVolumeSource{WWIDs: []string{"3600508b400105e210000900000490000"}}},
			want: source("urn:kubernetes:external-volume:fibre-channel/3600508b400105e210000900000490000", "fibre-channel/3600508b400105e210000900000490000", "fibre-channel"),
		},
		{
			name: "GCE PD",
			src:  corev1.PersistentVolumeSource{GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{PDName: "disk-1"}},
			want: source("urn:kubernetes:external-volume:gce-pd/disk-1", "gce-pd/disk-1", "gce-pd"),
		},
		{
			name: "no known source: no volume-source",
			want: []string{pvComponent},
		},
		{
			name:   "labels are kept",
			labels: map[string]string{"type": "fast"},
			want:   []string{"component persistent-volume " + pvURN + " ns= name=pv-1 uid=pv-uid identity=[persistentvolume=pv-1] labels={type=fast}"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := &corev1.PersistentVolume{
				ObjectMeta: objectMeta("", "pv-1", "pv-uid", tt.labels),
				Spec:       corev1.PersistentVolumeSpec{PersistentVolumeSource: tt.src},
			}
			assertResult(t, MapPersistentVolume(testURNs, pv), tt.want)
		})
	}
}
