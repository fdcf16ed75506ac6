package topology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

func podTarget(namespace, name string) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{
		Addresses: []string{"10.244.0.7"},
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: namespace, Name: name},
	}
}

func TestMapEndpointSlice(t *testing.T) {
	const svcURN = "urn:kubernetes:/prod:shop:service/legacy-db"
	manualEndpoints := []discoveryv1.Endpoint{
		podTarget("shop", "db-0"),
		podTarget("shop", "db-0"),  // the same pod twice (two addresses)
		podTarget("", "db-1"),      // namespace defaults to the slice's
		podTarget("other", "db-2"), // another namespace: a Service exposes its own only
		{Addresses: []string{"10.0.0.9"}, TargetRef: &corev1.ObjectReference{Kind: "Node", Name: "node-1"}},
		{Addresses: []string{"192.0.2.1"}}, // no target at all
		{Addresses: []string{"10.244.0.9"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "shop"}}, // no name
	}
	tests := []struct {
		name   string
		labels map[string]string
		eps    []discoveryv1.Endpoint
		want   []string
	}{
		{
			name:   "manual slice exposes each Pod target once",
			labels: map[string]string{discoveryv1.LabelServiceName: "legacy-db", discoveryv1.LabelManagedBy: "staff"},
			eps:    manualEndpoints,
			want: []string{
				"relation exposes service " + svcURN + " -> pod urn:kubernetes:/prod:shop:pod/db-0",
				"relation exposes service " + svcURN + " -> pod urn:kubernetes:/prod:shop:pod/db-1",
			},
		},
		{
			name:   "slice without managed-by label",
			labels: map[string]string{discoveryv1.LabelServiceName: "legacy-db"},
			eps:    []discoveryv1.Endpoint{podTarget("shop", "db-0")},
			want: []string{
				"relation exposes service " + svcURN + " -> pod urn:kubernetes:/prod:shop:pod/db-0",
			},
		},
		{
			name:   "slice mirrored from Endpoints",
			labels: map[string]string{discoveryv1.LabelServiceName: "legacy-db", discoveryv1.LabelManagedBy: "endpointslicemirroring-controller.k8s.io"},
			eps:    []discoveryv1.Endpoint{podTarget("shop", "db-0")},
			want: []string{
				"relation exposes service " + svcURN + " -> pod urn:kubernetes:/prod:shop:pod/db-0",
			},
		},
		{
			name:   "other-namespace ref first does not hide a same-name pod of the slice's namespace",
			labels: map[string]string{discoveryv1.LabelServiceName: "legacy-db"},
			eps:    []discoveryv1.Endpoint{podTarget("other", "db-0"), podTarget("shop", "db-0")},
			want: []string{
				"relation exposes service " + svcURN + " -> pod urn:kubernetes:/prod:shop:pod/db-0",
			},
		},
		{
			name:   "controller-managed slice adds nothing",
			labels: map[string]string{discoveryv1.LabelServiceName: "legacy-db", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
			eps:    manualEndpoints,
			want:   nil,
		},
		{
			name:   "slice without service-name label adds nothing",
			labels: map[string]string{discoveryv1.LabelManagedBy: "staff"},
			eps:    manualEndpoints,
			want:   nil,
		},
		{
			name:   "slice without labels adds nothing",
			labels: nil,
			eps:    manualEndpoints,
			want:   nil,
		},
		{
			name:   "slice without endpoints",
			labels: map[string]string{discoveryv1.LabelServiceName: "legacy-db"},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := &discoveryv1.EndpointSlice{
				ObjectMeta:  objectMeta("shop", "legacy-db-x7k2p", "es-uid", tt.labels),
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints:   tt.eps,
			}
			assertResult(t, MapEndpointSlice(testURNs, es), tt.want)
		})
	}
}
