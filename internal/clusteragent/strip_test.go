package clusteragent

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubetopo/kubetopo/internal/events"
	"github.com/kubetopo/kubetopo/internal/heapstat"
	"github.com/kubetopo/kubetopo/internal/scenario"
	"github.com/kubetopo/kubetopo/topology"
)

// TestSlimPodMapsAlike: what the agent derives from a pod (its components and
// relations, its selector-join labels, its synthesised OOM events) is the
// same from the slim pod as from the full one, for every volume kind, every
// kind of container and reference, and pods of the scenarios.
func TestSlimPodMapsAlike(t *testing.T) {
	u := topology.NewURNs("c")
	pods := []*corev1.Pod{kitchenSinkPod(), realisticPod(0), realisticPod(1)}
	pods[1].Spec.NodeName = "" // not scheduled: host paths are not volumes yet
	for _, o := range scenario.Objects() {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	for _, full := range pods {
		t.Run(full.Namespace+"/"+full.Name, func(t *testing.T) {
			orig := full.DeepCopy()
			obj, err := strip(full.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			slim, ok := asPod(obj)
			if !ok {
				t.Fatalf("the transform made a %T", obj)
			}
			if got, want := topology.MapPod(u, slim), topology.MapPod(u, orig); !reflect.DeepEqual(got, want) {
				t.Errorf("mapping differs:\nslim: %+v\nfull: %+v", got, want)
			}
			if got, want := events.OOMEvents(slim), events.OOMEvents(orig); !reflect.DeepEqual(got, want) {
				t.Errorf("OOM events differ:\nslim: %+v\nfull: %+v", got, want)
			}
			if !reflect.DeepEqual(slim.Labels, orig.Labels) || slim.UID != orig.UID || slim.ResourceVersion != orig.ResourceVersion {
				t.Errorf("identity or labels differ: %+v vs %+v", slim.ObjectMeta, orig.ObjectMeta)
			}
			for _, cs := range [][]corev1.Container{slim.Spec.InitContainers, slim.Spec.Containers} {
				for _, c := range cs {
					for _, e := range c.Env {
						if e.Value != "" {
							t.Errorf("container %s keeps the literal value of %s", c.Name, e.Name)
						}
					}
				}
			}
		})
	}
	// The kitchen sink exercises what it should: OOM events of a container
	// and an init container, and a relation per volume kind.
	if n := len(events.OOMEvents(kitchenSinkPod())); n != 3 {
		t.Errorf("kitchen sink pod has %d OOM events, want 3", n)
	}
}

// TestSlimEndpointSliceMapsAlike: the mapping of a stripped EndpointSlice
// equals that of the full one, for controller-managed slices (which map to
// nothing) and hand-written or mirrored ones (which map to service → pod).
func TestSlimEndpointSliceMapsAlike(t *testing.T) {
	u := topology.NewURNs("c")
	ep := func(kind, ns, name string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{
			Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			NodeName: ptr.To("n1"), Zone: ptr.To("z"),
			TargetRef: &corev1.ObjectReference{Kind: kind, Namespace: ns, Name: name, UID: "u-" + types.UID(name), ResourceVersion: "7"},
		}
	}
	slice := func(managedBy string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-abc", Labels: map[string]string{
				discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: managedBy}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{ep("Pod", "shop", "web-1"), ep("Pod", "", "web-2"), ep("Pod", "other", "x"),
				ep("Node", "", "n1"), {Addresses: []string{"10.0.0.9"}}, ep("Pod", "shop", "web-1")},
			Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
		}
	}
	for _, managedBy := range []string{"endpointslice-controller.k8s.io", "endpointslicemirroring-controller.k8s.io", "my-operator"} {
		full := slice(managedBy)
		obj, err := strip(slice(managedBy))
		if err != nil {
			t.Fatal(err)
		}
		got, want := topology.MapEndpointSlice(u, obj.(*discoveryv1.EndpointSlice)), topology.MapEndpointSlice(u, full)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("managed by %s: slim maps to %+v, full to %+v", managedBy, got, want)
		}
		if managedBy != "endpointslice-controller.k8s.io" && len(want.Relations) != 2 {
			t.Errorf("managed by %s: %d relations, want 2 (the test's slice is wrong)", managedBy, len(want.Relations))
		}
	}
}

func kitchenSinkPod() *corev1.Pod {
	p := realisticPod(7)
	p.Name = "sink"
	vol := func(name string, src corev1.VolumeSource) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: src}
	}
	p.Spec.Volumes = append(p.Spec.Volumes,
		vol("cm", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm1"}, Items: []corev1.KeyToPath{{Key: "a", Path: "b"}}}}),
		vol("sec", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s1", DefaultMode: ptr.To[int32](0o400)}}),
		vol("claim", corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-0", ReadOnly: true}}),
		vol("eph", corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{}}}),
		vol("proj", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm2"}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s2"}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s2"}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{}},
		}}}),
		vol("empty", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}),
		vol("down", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}),
		vol("host", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}),
		vol("nfs", corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.example", Path: "/export"}}),
		vol("csi", corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io"}}),
		vol("ebs", corev1.VolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "aws://eu-west-1a/vol-1"}}),
		vol("git", corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "https://example/x.git"}}),
		vol("img", corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "example/data:1"}}),
	)
	c := &p.Spec.Containers[0]
	for _, v := range p.Spec.Volumes {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: "/mnt/" + v.Name, ReadOnly: len(v.Name)%2 == 0, SubPath: "x"})
	}
	c.EnvFrom = []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm3"}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s3"}}, Prefix: "S_"},
	}
	c.Env = append(c.Env,
		corev1.EnvVar{Name: "PASSWORD", Value: "hunter2"},
		corev1.EnvVar{Name: "FROM_CM", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm4"}, Key: "k"}}},
		corev1.EnvVar{Name: "FROM_SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s4"}, Key: "k"}}},
		corev1.EnvVar{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
	)
	init := p.Spec.Containers[0]
	init.Name = "init"
	p.Spec.InitContainers = []corev1.Container{init}
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s5"}}}}},
	}}}
	oom := func(at int64) *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.Unix(at, 0), ContainerID: "containerd://abc", Message: "killed"}
	}
	p.Status.ContainerStatuses[0].LastTerminationState.Terminated = oom(1700000000)
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: oom(1700000100)}
	p.Status.ContainerStatuses[0].RestartCount = 2
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{
		{Name: "init", State: corev1.ContainerState{Terminated: oom(0)}, RestartCount: 1},
	}
	p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
		Name: "done", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}},
	})
	return p
}

// realisticPod is a pod as a Deployment's ReplicaSet creates it and the
// apiserver and a kubelet fill it in: defaults, a service-account token
// volume, probes, resources, managed fields, conditions and statuses.
func realisticPod(i int) *corev1.Pod {
	name := fmt.Sprintf("web-7d9f8b6c5d-%05d", i)
	ts := metav1.Unix(1700000000, 0)
	q := resource.MustParse
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
	cond := func(t corev1.PodConditionType) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: ts}
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, GenerateName: "web-7d9f8b6c5d-", Namespace: "bench-0",
			UID: types.UID(fmt.Sprintf("0b6a4c2e-1f3d-4e5a-9b8c-%012d", i)), ResourceVersion: fmt.Sprint(100000 + i),
			CreationTimestamp: ts,
			Labels:            map[string]string{"app": "web", "pod-template-hash": "7d9f8b6c5d", "tier": "frontend"},
			Annotations:       map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-12-01T10:00:00Z"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f8b6c5d",
				UID: "5f0c9a1e-2b3c-4d5e-8f90-123456789abc", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Time: &ts, FieldsType: "FieldsV1",
					FieldsV1: &metav1.FieldsV1{Raw: []byte(strings.Repeat(`{"f:metadata":{"f:labels":{}}}`, 40))}},
				{Manager: "kwok", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Time: &ts, FieldsType: "FieldsV1", Subresource: "status",
					FieldsV1: &metav1.FieldsV1{Raw: []byte(strings.Repeat(`{"f:status":{"f:conditions":{}}}`, 30))}},
			},
		},
		Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}, DefaultMode: ptr.To[int32](420)}}},
				{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr.To[int32](420), Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
				}}}},
			},
			Containers: []corev1.Container{{
				Name: "web", Image: "registry.example.com/web:1.4.2", Args: []string{"--port=8080", "--log-level=info"},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Env: []corev1.EnvVar{{Name: "MODE", Value: "production"},
					{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "web-secret"}, Key: "token"}}}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: q("100m"), corev1.ResourceMemory: q("128Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("256Mi")},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/web", ReadOnly: true},
					{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
				LivenessProbe: probe, ReadinessProbe: probe,
				TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				ImagePullPolicy: corev1.PullIfNotPresent,
			}},
			RestartPolicy: corev1.RestartPolicyAlways, TerminationGracePeriodSeconds: ptr.To[int64](30),
			DNSPolicy: corev1.DNSClusterFirst, ServiceAccountName: "default", NodeName: fmt.Sprintf("kwok-node-%d", i%200),
			SecurityContext: &corev1.PodSecurityContext{}, SchedulerName: "default-scheduler",
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
			},
			Priority: ptr.To[int32](0), EnableServiceLinks: ptr.To(true), PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority),
		},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{cond("PodReadyToStartContainers"), cond(corev1.PodInitialized), cond(corev1.PodReady), cond(corev1.ContainersReady), cond(corev1.PodScheduled)},
			HostIP:     "10.0.0.12", HostIPs: []corev1.HostIP{{IP: "10.0.0.12"}},
			PodIP: fmt.Sprintf("10.244.%d.%d", i/250, i%250), PodIPs: []corev1.PodIP{{IP: fmt.Sprintf("10.244.%d.%d", i/250, i%250)}},
			StartTime: &ts, QOSClass: corev1.PodQOSBurstable,
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", Ready: true, Started: ptr.To(true), Image: "registry.example.com/web:1.4.2",
				ImageID:     "registry.example.com/web@sha256:" + strings.Repeat("ab", 32),
				ContainerID: "containerd://" + strings.Repeat("cd", 32),
				State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ts}},
			}},
		},
	}
}

// BenchmarkPodCacheHeap measures what a 10k-pod informer cache keeps: live
// heap per pod after a full GC, for the decoded pod as the apiserver sends it,
// for the first in-place strip (managed fields, annotations, probes,
// commands, affinity, tolerations, conditions dropped) and for the podLite
// the cache holds.
func BenchmarkPodCacheHeap(b *testing.B) {
	const n = 10000
	wire := make([][]byte, n)
	for i := range wire {
		data, err := realisticPod(i).Marshal()
		if err != nil {
			b.Fatal(err)
		}
		wire[i] = data
	}
	decode := func(data []byte) *corev1.Pod {
		p := &corev1.Pod{}
		if err := p.Unmarshal(data); err != nil {
			b.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		transform func(*corev1.Pod) any
	}{
		{"decoded", func(p *corev1.Pod) any { return p }},
		{"strip-in-place", func(p *corev1.Pod) any { return stripInPlace(p) }},
		{"lite", func(p *corev1.Pod) any { return newPodLite(p) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				before := heapstat.Live()
				cache := make([]any, n)
				for j := range cache {
					cache[j] = tc.transform(decode(wire[j]))
				}
				after := heapstat.Live()
				b.ReportMetric(float64(after-before)/n, "bytes/pod")
				runtime.KeepAlive(cache)
			}
		})
	}
}

// stripInPlace is the transform pods had before podLite, kept to measure
// against.
func stripInPlace(o *corev1.Pod) *corev1.Pod {
	o.SetManagedFields(nil)
	o.SetAnnotations(nil)
	for _, cs := range [][]corev1.Container{o.Spec.InitContainers, o.Spec.Containers} {
		for i := range cs {
			c := &cs[i]
			for k := range c.Env {
				c.Env[k].Value = ""
			}
			c.Command, c.Args = nil, nil
			c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = nil, nil, nil
			c.SecurityContext, c.Lifecycle = nil, nil
		}
	}
	o.Spec.EphemeralContainers, o.Spec.Affinity, o.Spec.Tolerations = nil, nil, nil
	o.Status.Conditions, o.Status.InitContainerStatuses, o.Status.EphemeralContainerStatuses = nil, nil, nil
	return o
}
