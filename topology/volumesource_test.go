package topology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// volumeCase is one storage source as both a PV source and an inline pod
// volume, with the URN and kind StackState gives it ("" when none).
type volumeCase struct {
	name     string
	pv       corev1.PersistentVolumeSource
	inline   corev1.VolumeSource
	wantURN  string
	wantKind string
}

func TestPersistentVolumeSource(t *testing.T) {
	tests := []volumeCase{
		{name: "csi", pv: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "pd.csi.storage.gke.io", VolumeHandle: "projects/p/zones/z/disks/d"}},
			wantURN: "urn:kubernetes:external-volume:csi/pd.csi.storage.gke.io/projects/p/zones/z/disks/d", wantKind: "csi"},
		{name: "csi without driver", pv: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{VolumeHandle: "h"}}},
		{name: "nfs", pv: corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.example.com", Path: "/srv"}},
			wantURN: "urn:kubernetes:external-volume:nfs/nfs.example.com//srv", wantKind: "nfs"},
		{name: "hostPath", pv: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/pv1"}},
			wantURN: "urn:kubernetes:external-volume:hostpath/data/pv1", wantKind: "hostpath"},
		{name: "local", pv: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/ssd"}},
			wantURN: "urn:kubernetes:external-volume:local/mnt/ssd", wantKind: "local"},
		{name: "aws-ebs", pv: corev1.PersistentVolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "aws://us-east-1b/vol-1", Partition: 1}},
			wantURN: "urn:kubernetes:external-volume:aws-ebs/us-east-1b/vol-1/1", wantKind: "aws-ebs"},
		{name: "gce-pd", pv: corev1.PersistentVolumeSource{GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{PDName: "pd-1"}},
			wantURN: "urn:kubernetes:external-volume:gce-pd/pd-1", wantKind: "gce-pd"},
		{name: "azure-disk", pv: corev1.PersistentVolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "disk-a"}},
			wantURN: "urn:kubernetes:external-volume:azure-disk/disk-a", wantKind: "azure-disk"},
		{name: "azure-file", pv: corev1.PersistentVolumeSource{AzureFile: &corev1.AzureFilePersistentVolumeSource{ShareName: "share-a"}},
			wantURN: "urn:kubernetes:external-volume:azure-file/share-a", wantKind: "azure-file"},
		{name: "ceph-fs with path", pv: corev1.PersistentVolumeSource{CephFS: &corev1.CephFSPersistentVolumeSource{Monitors: []string{"10.0.0.1:6789", "10.0.0.2:6789"}, Path: "/volumes/a"}},
			wantURN: "urn:kubernetes:external-volume:ceph-fs/10.0.0.1:6789//volumes/a", wantKind: "ceph-fs"},
		{name: "ceph-fs without path", pv: corev1.PersistentVolumeSource{CephFS: &corev1.CephFSPersistentVolumeSource{Monitors: []string{"10.0.0.1:6789"}}},
			wantURN: "urn:kubernetes:external-volume:ceph-fs/10.0.0.1:6789", wantKind: "ceph-fs"},
		{name: "ceph-fs without monitors", pv: corev1.PersistentVolumeSource{CephFS: &corev1.CephFSPersistentVolumeSource{Path: "/x"}}},
		{name: "cinder", pv: corev1.PersistentVolumeSource{Cinder: &corev1.CinderPersistentVolumeSource{VolumeID: "c-1"}},
			wantURN: "urn:kubernetes:external-volume:cinder/c-1", wantKind: "cinder"},
		{name: "fc wwn without lun falls back to wwid", pv: corev1.PersistentVolumeSource{FC: &corev1.FCVolumeSource{TargetWWNs: []string{"500a"}, WWIDs: []string{"wwid-1"}}},
			wantURN: "urn:kubernetes:external-volume:fibre-channel/wwid-1", wantKind: "fibre-channel"},
		{name: "fc with neither", pv: corev1.PersistentVolumeSource{FC: &corev1.FCVolumeSource{TargetWWNs: []string{"500a"}}}},
		{name: "flex", pv: corev1.PersistentVolumeSource{FlexVolume: &corev1.FlexPersistentVolumeSource{Driver: "example/lvm"}},
			wantURN: "urn:kubernetes:external-volume:flex/example/lvm", wantKind: "flex"},
		{name: "gluster-fs", pv: corev1.PersistentVolumeSource{Glusterfs: &corev1.GlusterfsPersistentVolumeSource{EndpointsName: "glusterfs-cluster", Path: "vol1"}},
			wantURN: "urn:kubernetes:external-volume:gluster-fs/glusterfs-cluster/vol1", wantKind: "gluster-fs"},
		{name: "iscsi", pv: corev1.PersistentVolumeSource{ISCSI: &corev1.ISCSIPersistentVolumeSource{TargetPortal: "10.0.0.7:3260", IQN: "iqn.2001-04.com.example:storage", Lun: 3}},
			wantURN: "urn:kubernetes:external-volume:iscsi/10.0.0.7:3260/iqn.2001-04.com.example:storage/3", wantKind: "iscsi"},
		{name: "portworx", pv: corev1.PersistentVolumeSource{PortworxVolume: &corev1.PortworxVolumeSource{VolumeID: "px-1"}},
			wantURN: "urn:kubernetes:external-volume:portworx/px-1", wantKind: "portworx"},
		{name: "rbd without monitors", pv: corev1.PersistentVolumeSource{RBD: &corev1.RBDPersistentVolumeSource{RBDPool: "kube", RBDImage: "i"}}},
		{name: "vsphere", pv: corev1.PersistentVolumeSource{VsphereVolume: &corev1.VsphereVirtualDiskVolumeSource{VolumePath: "[ds1] volumes/v1.vmdk"}},
			wantURN: "urn:kubernetes:external-volume:vsphere/[ds1] volumes/v1.vmdk", wantKind: "vsphere"},
		{name: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			urn, kind, ok := persistentVolumeSource(tt.pv)
			checkVolume(t, urn, kind, ok, tt)
		})
	}
}

func TestInlineExternalVolume(t *testing.T) {
	tests := []struct {
		volumeCase
		node string
	}{
		{node: "node-1", volumeCase: volumeCase{name: "hostPath scheduled", inline: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/docker"}},
			wantURN: "urn:kubernetes:external-volume:hostpath/node-1/var/lib/docker", wantKind: "hostpath"}},
		{node: "", volumeCase: volumeCase{name: "hostPath unscheduled", inline: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/docker"}}}},
		{node: "node-1", volumeCase: volumeCase{name: "nfs", inline: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "10.0.0.5", Path: "/exports/data"}},
			wantURN: "urn:kubernetes:external-volume:nfs/10.0.0.5//exports/data", wantKind: "nfs"}},
		{node: "", volumeCase: volumeCase{name: "nfs unscheduled", inline: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "10.0.0.5", Path: "/exports/data"}},
			wantURN: "urn:kubernetes:external-volume:nfs/10.0.0.5//exports/data", wantKind: "nfs"}},
		{node: "node-1", volumeCase: volumeCase{name: "aws-ebs", inline: corev1.VolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "aws://eu-west-1a/vol-2"}},
			wantURN: "urn:kubernetes:external-volume:aws-ebs/eu-west-1a/vol-2/0", wantKind: "aws-ebs"}},
		{node: "node-1", volumeCase: volumeCase{name: "rbd", inline: corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{CephMonitors: []string{"mon-a"}, RBDPool: "rbd", RBDImage: "foo"}},
			wantURN: "urn:kubernetes:external-volume:rbd/mon-a/rbd-image-foo", wantKind: "rbd"}},
		{node: "node-1", volumeCase: volumeCase{name: "fc", inline: corev1.VolumeSource{FC: &corev1.FCVolumeSource{TargetWWNs: []string{"50060e801049cfd1"}, Lun: ptrTo(int32(0))}},
			wantURN: "urn:kubernetes:external-volume:fibre-channel/50060e801049cfd1-lun-0", wantKind: "fibre-channel"}},
		{node: "node-1", volumeCase: volumeCase{name: "ceph-fs", inline: corev1.VolumeSource{CephFS: &corev1.CephFSVolumeSource{Monitors: []string{"mon-a"}}},
			wantURN: "urn:kubernetes:external-volume:ceph-fs/mon-a", wantKind: "ceph-fs"}},
		{node: "node-1", volumeCase: volumeCase{name: "iscsi", inline: corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "10.0.0.7:3260", IQN: "iqn.x", Lun: 1}},
			wantURN: "urn:kubernetes:external-volume:iscsi/10.0.0.7:3260/iqn.x/1", wantKind: "iscsi"}},
		{node: "node-1", volumeCase: volumeCase{name: "emptyDir lives with the pod", inline: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		{node: "node-1", volumeCase: volumeCase{name: "projected lives with the pod", inline: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}}},
		{node: "node-1", volumeCase: volumeCase{name: "csi ephemeral lives with the pod", inline: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			urn, kind, ok := inlineExternalVolume(tt.inline, tt.node)
			checkVolume(t, urn, kind, ok, tt.volumeCase)
		})
	}
}

func checkVolume(t *testing.T, urn, kind string, ok bool, tt volumeCase) {
	t.Helper()
	if tt.wantURN == "" {
		if ok || urn != "" || kind != "" {
			t.Errorf("got (%q, %q, %v), want no external volume", urn, kind, ok)
		}
		return
	}
	if !ok || urn != tt.wantURN || kind != tt.wantKind {
		t.Errorf("got  (%q, %q, %v)\nwant (%q, %q, true)", urn, kind, ok, tt.wantURN, tt.wantKind)
	}
}

func TestPodVolumeKind(t *testing.T) {
	tests := []struct {
		name string
		src  corev1.VolumeSource
		want string
	}{
		{"emptyDir", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}, "empty-dir"},
		{"projected", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}, "projected"},
		{"downwardAPI", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}, "downward-api"},
		{"csi", corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d"}}, "csi-ephemeral"},
		{"image", corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "busybox"}}, "image"},
		{"gitRepo", corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "r"}}, "git-repo"},
		{"hostPath", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}, "hostpath"},
		{"nothing set", corev1.VolumeSource{}, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podVolumeKind(tt.src); got != tt.want {
				t.Errorf("podVolumeKind = %q, want %q", got, tt.want)
			}
		})
	}
}
