package topology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// withVolume adds a volume to the base pod and the given mounts to its
// container cart.
func withVolume(name string, src corev1.VolumeSource, mounts ...corev1.VolumeMount) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: src})
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, mounts...)
	}
}

func mount(volume, path string, readOnly bool) corev1.VolumeMount {
	return corev1.VolumeMount{Name: volume, MountPath: path, ReadOnly: readOnly}
}

func TestMapPodVolumes(t *testing.T) {
	const (
		cmURN      = "urn:kubernetes:/prod:shop:configmap/cart-config"
		secURN     = "urn:kubernetes:/prod:shop:secret/cart-tls"
		caURN      = "urn:kubernetes:/prod:shop:configmap/kube-root-ca.crt"
		pvcURN     = "urn:kubernetes:/prod:shop:persistent-volume-claim/data-cart"
		ephURN     = "urn:kubernetes:/prod:shop:persistent-volume-claim/cart-7d9f-abcde-scratch"
		cacheURN   = "urn:kubernetes:/prod:shop:volume/cart-7d9f-abcde/cache"
		podinfoURN = "urn:kubernetes:/prod:shop:volume/cart-7d9f-abcde/podinfo"
		projURN    = "urn:kubernetes:/prod:shop:volume/cart-7d9f-abcde/kube-api-access"
		hostURN    = "urn:kubernetes:external-volume:hostpath/node-1/var/log"
		nfsURN     = "urn:kubernetes:external-volume:nfs/10.0.0.5//exports/data"
	)
	base := lines(scheduledPod, []string{nsEnclosesPod})
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string
	}{
		{
			name: "configMap volume: claims and read-only mount",
			pod: testPod(withVolume("config",
				corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cart-config"}}},
				mount("config", "/etc/cart", true))),
			want: lines(base, []string{
				"relation claims pod " + podURN + " -> configmap " + cmURN,
				"relation mounts container " + cartURN + " -> configmap " + cmURN + " [mount_path=/etc/cart read_only=true]",
			}),
		},
		{
			name: "secret volume",
			pod: testPod(withVolume("tls",
				corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "cart-tls"}},
				mount("tls", "/etc/tls", true))),
			want: lines(base, []string{
				"relation claims pod " + podURN + " -> secret " + secURN,
				"relation mounts container " + cartURN + " -> secret " + secURN + " [mount_path=/etc/tls read_only=true]",
			}),
		},
		{
			name: "persistentVolumeClaim volume",
			pod: testPod(withVolume("data",
				corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-cart"}},
				mount("data", "/data", false))),
			want: lines(base, []string{
				"relation claims pod " + podURN + " -> persistent-volume-claim " + pvcURN,
				"relation mounts container " + cartURN + " -> persistent-volume-claim " + pvcURN + " [mount_path=/data read_only=false]",
			}),
		},
		{
			name: "generic ephemeral volume claims the PVC <pod>-<volume>",
			pod: testPod(withVolume("scratch",
				corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}},
				mount("scratch", "/scratch", false))),
			want: lines(base, []string{
				"relation claims pod " + podURN + " -> persistent-volume-claim " + ephURN,
				"relation mounts container " + cartURN + " -> persistent-volume-claim " + ephURN + " [mount_path=/scratch read_only=false]",
			}),
		},
		{
			name: "emptyDir is a volume of the pod",
			pod: testPod(withVolume("cache",
				corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
				mount("cache", "/cache", false))),
			want: lines(base, []string{
				"component volume " + cacheURN + " ns=shop name=cache uid= identity=[pod=cart-7d9f-abcde volume=cache volume_kind=empty-dir] labels=nil",
				"relation claims pod " + podURN + " -> volume " + cacheURN,
				"relation mounts container " + cartURN + " -> volume " + cacheURN + " [mount_path=/cache read_only=false]",
			}),
		},
		{
			name: "emptyDir of an unscheduled pod still exists",
			pod: testPod(unscheduled, withVolume("cache",
				corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
				mount("cache", "/cache", false))),
			want: []string{
				podComponent, cartComponent, podEnclosesCart, nsEnclosesPod,
				"component volume " + cacheURN + " ns=shop name=cache uid= identity=[pod=cart-7d9f-abcde volume=cache volume_kind=empty-dir] labels=nil",
				"relation claims pod " + podURN + " -> volume " + cacheURN,
				"relation mounts container " + cartURN + " -> volume " + cacheURN + " [mount_path=/cache read_only=false]",
			},
		},
		{
			name: "downwardAPI volume",
			pod: testPod(withVolume("podinfo",
				corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}},
				mount("podinfo", "/etc/podinfo", true))),
			want: lines(base, []string{
				"component volume " + podinfoURN + " ns=shop name=podinfo uid= identity=[pod=cart-7d9f-abcde volume=podinfo volume_kind=downward-api] labels=nil",
				"relation claims pod " + podURN + " -> volume " + podinfoURN,
				"relation mounts container " + cartURN + " -> volume " + podinfoURN + " [mount_path=/etc/podinfo read_only=true]",
			}),
		},
		{
			name: "projected volume projects ConfigMaps and Secrets once each",
			pod: testPod(withVolume("kube-api-access",
				corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{}},
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cart-tls"}}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cart-tls"}}},
				}}},
				mount("kube-api-access", "/var/run/secrets/kubernetes.io/serviceaccount", true))),
			want: lines(base, []string{
				"component volume " + projURN + " ns=shop name=kube-api-access uid= identity=[pod=cart-7d9f-abcde volume=kube-api-access volume_kind=projected] labels=nil",
				"relation claims pod " + podURN + " -> volume " + projURN,
				"relation projects volume " + projURN + " -> configmap " + caURN,
				"relation projects volume " + projURN + " -> secret " + secURN,
				"relation mounts container " + cartURN + " -> volume " + projURN + " [mount_path=/var/run/secrets/kubernetes.io/serviceaccount read_only=true]",
			}),
		},
		{
			name: "projected volume with token and downwardAPI only projects nothing",
			pod: testPod(withVolume("kube-api-access",
				corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{DownwardAPI: &corev1.DownwardAPIProjection{}},
				}}})),
			want: lines(base, []string{
				"component volume " + projURN + " ns=shop name=kube-api-access uid= identity=[pod=cart-7d9f-abcde volume=kube-api-access volume_kind=projected] labels=nil",
				"relation claims pod " + podURN + " -> volume " + projURN,
			}),
		},
		{
			name: "hostPath of a scheduled pod is the node's shared external volume",
			pod: testPod(withVolume("logs",
				corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}},
				mount("logs", "/host/logs", true))),
			want: lines(base, []string{
				"component volume " + hostURN + " ns= name=hostpath/node-1/var/log uid= identity=[volume_kind=hostpath] labels=nil",
				"relation claims pod " + podURN + " -> volume " + hostURN,
				"relation mounts container " + cartURN + " -> volume " + hostURN + " [mount_path=/host/logs read_only=true]",
			}),
		},
		{
			name: "hostPath of an unscheduled pod: no volume, no claims, mount ignored",
			pod: testPod(unscheduled, withVolume("logs",
				corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}},
				mount("logs", "/host/logs", true))),
			want: []string{podComponent, cartComponent, podEnclosesCart, nsEnclosesPod},
		},
		{
			name: "inline NFS volume (server and absolute path joined by /)",
			pod: testPod(withVolume("shared",
				corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "10.0.0.5", Path: "/exports/data"}},
				mount("shared", "/shared", false))),
			want: lines(base, []string{
				"component volume " + nfsURN + " ns= name=nfs/10.0.0.5//exports/data uid= identity=[volume_kind=nfs] labels=nil",
				"relation claims pod " + podURN + " -> volume " + nfsURN,
				"relation mounts container " + cartURN + " -> volume " + nfsURN + " [mount_path=/shared read_only=false]",
			}),
		},
		{
			name: "mount of an unknown volume is ignored",
			pod: testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{mount("missing", "/missing", false)}
			}),
			want: base,
		},
		{
			name: "same volume mounted twice at two paths: two mounts",
			pod: testPod(withVolume("cache",
				corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
				mount("cache", "/cache", false), mount("cache", "/tmp/cache", true))),
			want: lines(base, []string{
				"component volume " + cacheURN + " ns=shop name=cache uid= identity=[pod=cart-7d9f-abcde volume=cache volume_kind=empty-dir] labels=nil",
				"relation claims pod " + podURN + " -> volume " + cacheURN,
				"relation mounts container " + cartURN + " -> volume " + cacheURN + " [mount_path=/cache read_only=false]",
				"relation mounts container " + cartURN + " -> volume " + cacheURN + " [mount_path=/tmp/cache read_only=true]",
			}),
		},
		{
			name: "init container and sidecar mount the same volume",
			pod: testPod(
				withVolume("data",
					corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-cart"}},
					mount("data", "/data", false)),
				func(p *corev1.Pod) {
					p.Spec.InitContainers = []corev1.Container{{Name: "migrate", VolumeMounts: []corev1.VolumeMount{mount("data", "/data", false)}}}
					p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar", VolumeMounts: []corev1.VolumeMount{mount("data", "/backup", true)}})
				}),
			want: lines(base, []string{
				migrateComponent, podEnclosesInit, migrateRunsOn,
				sidecarComponent, podEnclosesSide, sidecarRunsOn,
				"relation claims pod " + podURN + " -> persistent-volume-claim " + pvcURN,
				"relation mounts container " + cartURN + " -> persistent-volume-claim " + pvcURN + " [mount_path=/data read_only=false]",
				"relation mounts container " + migrateURN + " -> persistent-volume-claim " + pvcURN + " [mount_path=/data read_only=false]",
				"relation mounts container " + sidecarURN + " -> persistent-volume-claim " + pvcURN + " [mount_path=/backup read_only=true]",
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertResult(t, MapPod(testURNs, tt.pod), tt.want)
		})
	}
}

func TestMapPodHostPathSharedAcrossPods(t *testing.T) {
	const want = "component volume urn:kubernetes:external-volume:hostpath/node-1/var/log ns= name=hostpath/node-1/var/log uid= identity=[volume_kind=hostpath] labels=nil"
	logs := withVolume("logs", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}})
	for _, tt := range []struct{ namespace, name string }{
		{"shop", "cart-7d9f-abcde"},
		{"monitoring", "fluent-bit-x2x4z"},
	} {
		t.Run(tt.namespace+"/"+tt.name, func(t *testing.T) {
			p := testPod(logs, func(p *corev1.Pod) { p.Namespace, p.Name = tt.namespace, tt.name })
			var found bool
			for _, c := range MapPod(testURNs, p).Components {
				if c.Type == TypeVolume {
					found = true
					if got := renderComponent(c); got != want {
						t.Errorf("got  %s\nwant %s", got, want)
					}
				}
			}
			if !found {
				t.Error("no volume component")
			}
		})
	}
}
