package topology

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

const externalVolumePrefix = "urn:kubernetes:external-volume:"

// The storage kinds below and the parts of their URNs are StackState's, so
// that the same disk has the same identity in both.

// persistentVolumeSource returns the URN and kind of the storage behind a PV.
func persistentVolumeSource(s corev1.PersistentVolumeSource) (urn, kind string, ok bool) {
	switch {
	case s.CSI != nil && s.CSI.Driver != "":
		return ext("csi", s.CSI.Driver, s.CSI.VolumeHandle)
	case s.NFS != nil:
		return ext("nfs", s.NFS.Server, s.NFS.Path)
	case s.HostPath != nil:
		return ext("hostpath", strings.TrimPrefix(s.HostPath.Path, "/"))
	case s.Local != nil:
		return ext("local", strings.TrimPrefix(s.Local.Path, "/"))
	case s.AWSElasticBlockStore != nil:
		return ext("aws-ebs", strings.TrimPrefix(s.AWSElasticBlockStore.VolumeID, "aws://"), fmt.Sprint(s.AWSElasticBlockStore.Partition))
	case s.GCEPersistentDisk != nil:
		return ext("gce-pd", s.GCEPersistentDisk.PDName)
	case s.AzureDisk != nil:
		return ext("azure-disk", s.AzureDisk.DiskName)
	case s.AzureFile != nil:
		return ext("azure-file", s.AzureFile.ShareName)
	case s.CephFS != nil && len(s.CephFS.Monitors) > 0:
		return ext("ceph-fs", cephParts(s.CephFS.Monitors[0], s.CephFS.Path)...)
	case s.Cinder != nil:
		return ext("cinder", s.Cinder.VolumeID)
	case s.FC != nil:
		return fibreChannel(s.FC)
	case s.FlexVolume != nil:
		return ext("flex", s.FlexVolume.Driver)
	case s.Glusterfs != nil:
		return ext("gluster-fs", s.Glusterfs.EndpointsName, s.Glusterfs.Path)
	case s.ISCSI != nil:
		return ext("iscsi", s.ISCSI.TargetPortal, s.ISCSI.IQN, fmt.Sprint(s.ISCSI.Lun))
	case s.PortworxVolume != nil:
		return ext("portworx", s.PortworxVolume.VolumeID)
	case s.RBD != nil && len(s.RBD.CephMonitors) > 0:
		return ext("rbd", s.RBD.CephMonitors[0], s.RBD.RBDPool+"-image-"+s.RBD.RBDImage)
	case s.VsphereVolume != nil:
		return ext("vsphere", s.VsphereVolume.VolumePath)
	}
	return "", "", false
}

// inlineExternalVolume returns the URN and kind of a pod volume whose storage
// lives outside the pod (on the node, or outside the cluster). Volumes that
// live and die with the pod (emptyDir, projected, downwardAPI ...) return false.
func inlineExternalVolume(v corev1.VolumeSource, nodeName string) (urn, kind string, ok bool) {
	switch {
	case v.HostPath != nil:
		if nodeName == "" {
			return "", "", false // not scheduled yet: which host is not known
		}
		return ext("hostpath", nodeName, strings.TrimPrefix(v.HostPath.Path, "/"))
	case v.NFS != nil:
		return ext("nfs", v.NFS.Server, v.NFS.Path)
	case v.AWSElasticBlockStore != nil:
		return ext("aws-ebs", strings.TrimPrefix(v.AWSElasticBlockStore.VolumeID, "aws://"), fmt.Sprint(v.AWSElasticBlockStore.Partition))
	case v.GCEPersistentDisk != nil:
		return ext("gce-pd", v.GCEPersistentDisk.PDName)
	case v.AzureDisk != nil:
		return ext("azure-disk", v.AzureDisk.DiskName)
	case v.AzureFile != nil:
		return ext("azure-file", v.AzureFile.ShareName)
	case v.CephFS != nil && len(v.CephFS.Monitors) > 0:
		return ext("ceph-fs", cephParts(v.CephFS.Monitors[0], v.CephFS.Path)...)
	case v.Cinder != nil:
		return ext("cinder", v.Cinder.VolumeID)
	case v.FC != nil:
		return fibreChannel(v.FC)
	case v.FlexVolume != nil:
		return ext("flex", v.FlexVolume.Driver)
	case v.Glusterfs != nil:
		return ext("gluster-fs", v.Glusterfs.EndpointsName, v.Glusterfs.Path)
	case v.ISCSI != nil:
		return ext("iscsi", v.ISCSI.TargetPortal, v.ISCSI.IQN, fmt.Sprint(v.ISCSI.Lun))
	case v.PortworxVolume != nil:
		return ext("portworx", v.PortworxVolume.VolumeID)
	case v.RBD != nil && len(v.RBD.CephMonitors) > 0:
		return ext("rbd", v.RBD.CephMonitors[0], v.RBD.RBDPool+"-image-"+v.RBD.RBDImage)
	case v.VsphereVolume != nil:
		return ext("vsphere", v.VsphereVolume.VolumePath)
	}
	return "", "", false
}

func ext(kind string, parts ...string) (string, string, bool) {
	return ExternalVolume(kind, parts...), kind, true
}

func cephParts(monitor, path string) []string {
	if path == "" {
		return []string{monitor}
	}
	return []string{monitor, path}
}

func fibreChannel(fc *corev1.FCVolumeSource) (string, string, bool) {
	switch {
	case len(fc.TargetWWNs) > 0 && fc.Lun != nil:
		return ext("fibre-channel", fmt.Sprintf("%s-lun-%d", fc.TargetWWNs[0], *fc.Lun))
	case len(fc.WWIDs) > 0:
		return ext("fibre-channel", fc.WWIDs[0])
	}
	return "", "", false
}

// podVolumeKind names the kind of a volume that lives with its pod.
func podVolumeKind(v corev1.VolumeSource) string {
	switch {
	case v.EmptyDir != nil:
		return "empty-dir"
	case v.Projected != nil:
		return "projected"
	case v.DownwardAPI != nil:
		return "downward-api"
	case v.CSI != nil:
		return "csi-ephemeral"
	case v.Image != nil:
		return "image"
	case v.GitRepo != nil:
		return "git-repo"
	case v.HostPath != nil:
		return "hostpath"
	}
	return "other"
}
