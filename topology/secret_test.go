package topology

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMapSecret(t *testing.T) {
	tests := []struct {
		name string
		obj  *metav1.PartialObjectMetadata
		want []string
	}{
		{
			name: "secret with labels",
			obj:  partialMeta("Secret", "shop", "cart-tls", "sec-uid", map[string]string{"app": "cart"}),
			want: []string{
				"component secret urn:kubernetes:/prod:shop:secret/cart-tls ns=shop name=cart-tls uid=sec-uid identity=[secret=cart-tls] labels={app=cart}",
			},
		},
		{
			name: "secret without labels; annotations are not labels",
			obj: func() *metav1.PartialObjectMetadata {
				m := partialMeta("Secret", "shop", "db-credentials", "sec-uid", nil)
				m.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"password":"aHVudGVyMg=="}}`}
				return m
			}(),
			want: []string{
				"component secret urn:kubernetes:/prod:shop:secret/db-credentials ns=shop name=db-credentials uid=sec-uid identity=[secret=db-credentials] labels={}",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertResult(t, MapSecret(testURNs, tt.obj), tt.want)
		})
	}
}
