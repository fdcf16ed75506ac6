package topology

import "testing"

func TestURNs(t *testing.T) {
	prod := NewURNs("prod")
	eu := NewURNs("prod-eu")
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"namespaced pod", prod.Object("pod", "shop", "cart-7d9f-abcde"), "urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde"},
		{"namespaced pod, SPEC example", eu.Object("pod", "shop", "cart-7d9f-abcde"), "urn:kubernetes:/prod-eu:shop:pod/cart-7d9f-abcde"},
		{"namespaced service", prod.Object("service", "shop", "cart"), "urn:kubernetes:/prod:shop:service/cart"},
		{"namespaced external-service", prod.Object("external-service", "shop", "billing"), "urn:kubernetes:/prod:shop:external-service/billing"},
		{"namespaced pvc", prod.Object("persistent-volume-claim", "shop", "data-db-0"), "urn:kubernetes:/prod:shop:persistent-volume-claim/data-db-0"},
		{"cluster-scoped namespace", prod.Object("namespace", "", "shop"), "urn:kubernetes:/prod:namespace/shop"},
		{"cluster-scoped node", prod.Object("node", "", "node-1"), "urn:kubernetes:/prod:node/node-1"},
		{"cluster-scoped persistent-volume", prod.Object("persistent-volume", "", "pv-1"), "urn:kubernetes:/prod:persistent-volume/pv-1"},
		{"container", prod.Container("shop", "cart-7d9f-abcde", "cart"), "urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde:container/cart"},
		{"cluster", prod.Cluster(), "urn:cluster:/kubernetes:prod"},
		{"cluster with dash", eu.Cluster(), "urn:cluster:/kubernetes:prod-eu"},
		{"cluster name", eu.ClusterName(), "prod-eu"},
		{"endpoint ip", prod.Endpoint("203.0.113.10"), "urn:endpoint:/prod:203.0.113.10"},
		{"endpoint host", prod.Endpoint("lb.example.com"), "urn:endpoint:/prod:lb.example.com"},
		{"external volume nfs (absolute path keeps its slash)", ExternalVolume("nfs", "10.0.0.5", "/exports/data"), "urn:kubernetes:external-volume:nfs/10.0.0.5//exports/data"},
		{"external volume one part", ExternalVolume("gce-pd", "disk-1"), "urn:kubernetes:external-volume:gce-pd/disk-1"},
		{"external volume hostpath", ExternalVolume("hostpath", "node-1", "var/log"), "urn:kubernetes:external-volume:hostpath/node-1/var/log"},
		{"external volume three parts", ExternalVolume("iscsi", "10.0.0.7:3260", "iqn.2001-04.com.example:storage", "0"), "urn:kubernetes:external-volume:iscsi/10.0.0.7:3260/iqn.2001-04.com.example:storage/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got  %q\nwant %q", tt.got, tt.want)
			}
		})
	}
}
