package topology

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestMapNode(t *testing.T) {
	tests := []struct {
		name   string
		urns   URNs
		node   string
		labels map[string]string
		want   []string
	}{
		{
			name:   "node belongs to its cluster",
			urns:   NewURNs("prod"),
			node:   "node-1",
			labels: map[string]string{"kubernetes.io/hostname": "node-1", "node-role.kubernetes.io/worker": ""},
			want: []string{
				"component node urn:kubernetes:/prod:node/node-1 ns= name=node-1 uid=node-uid identity=[node=node-1] labels={kubernetes.io/hostname=node-1 node-role.kubernetes.io/worker=}",
				"relation belongs_to node urn:kubernetes:/prod:node/node-1 -> cluster urn:cluster:/kubernetes:prod",
			},
		},
		{
			name: "node without labels, other cluster",
			urns: NewURNs("prod-eu"),
			node: "ip-10-0-1-23.eu-west-1.compute.internal",
			want: []string{
				"component node urn:kubernetes:/prod-eu:node/ip-10-0-1-23.eu-west-1.compute.internal ns= name=ip-10-0-1-23.eu-west-1.compute.internal uid=node-uid identity=[node=ip-10-0-1-23.eu-west-1.compute.internal] labels={}",
				"relation belongs_to node urn:kubernetes:/prod-eu:node/ip-10-0-1-23.eu-west-1.compute.internal -> cluster urn:cluster:/kubernetes:prod-eu",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &corev1.Node{ObjectMeta: objectMeta("", tt.node, "node-uid", tt.labels)}
			assertResult(t, MapNode(tt.urns, n), tt.want)
		})
	}
}

func TestClusterComponent(t *testing.T) {
	tests := []struct {
		cluster string
		want    Component
	}{
		{"prod", Component{URN: "urn:cluster:/kubernetes:prod", Type: "cluster", Name: "prod"}},
		{"prod-eu", Component{URN: "urn:cluster:/kubernetes:prod-eu", Type: "cluster", Name: "prod-eu"}},
	}
	for _, tt := range tests {
		t.Run(tt.cluster, func(t *testing.T) {
			got := ClusterComponent(NewURNs(tt.cluster))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if got.Labels != nil {
				t.Errorf("cluster component Labels = %v, want nil", got.Labels)
			}
		})
	}
}
