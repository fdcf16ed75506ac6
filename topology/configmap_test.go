package topology

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func partialMeta(kind, namespace, name, uid string, labels map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: kind},
		ObjectMeta: objectMeta(namespace, name, uid, labels),
	}
}

func TestMapConfigMap(t *testing.T) {
	tests := []struct {
		name string
		obj  *metav1.PartialObjectMetadata
		want []string
	}{
		{
			name: "configmap with labels",
			obj:  partialMeta("ConfigMap", "shop", "cart-config", "cm-uid", map[string]string{"app": "cart"}),
			want: []string{
				"component configmap urn:kubernetes:/prod:shop:configmap/cart-config ns=shop name=cart-config uid=cm-uid identity=[configmap=cart-config] labels={app=cart}",
			},
		},
		{
			name: "configmap without labels",
			obj:  partialMeta("ConfigMap", "kube-system", "kube-root-ca.crt", "cm-uid", nil),
			want: []string{
				"component configmap urn:kubernetes:/prod:kube-system:configmap/kube-root-ca.crt ns=kube-system name=kube-root-ca.crt uid=cm-uid identity=[configmap=kube-root-ca.crt] labels={}",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertResult(t, MapConfigMap(testURNs, tt.obj), tt.want)
		})
	}
}
