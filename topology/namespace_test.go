package topology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestMapNamespace(t *testing.T) {
	tests := []struct {
		name   string
		ns     string
		labels map[string]string
		want   []string
	}{
		{
			name:   "namespace with labels",
			ns:     "shop",
			labels: map[string]string{"kubernetes.io/metadata.name": "shop", "team": "checkout"},
			want: []string{
				"component namespace urn:kubernetes:/prod:namespace/shop ns=shop name=shop uid=ns-uid identity=[] labels={kubernetes.io/metadata.name=shop team=checkout}",
			},
		},
		{
			name: "namespace without labels",
			ns:   "kube-system",
			want: []string{
				"component namespace urn:kubernetes:/prod:namespace/kube-system ns=kube-system name=kube-system uid=ns-uid identity=[] labels={}",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := MapNamespace(testURNs, &corev1.Namespace{ObjectMeta: objectMeta("", tt.ns, "ns-uid", tt.labels)})
			assertResult(t, r, tt.want)
			// The namespace label comes from Namespace; repeating it as an
			// identity label would duplicate it on kubetopo_component_info.
			for _, c := range r.Components {
				for _, l := range c.Identity {
					if l.Name == "namespace" {
						t.Errorf("identity repeats the namespace label: %v", c.Identity)
					}
				}
			}
		})
	}
}
