package topology

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestMapService(t *testing.T) {
	const (
		svcURN  = "urn:kubernetes:/prod:shop:service/cart"
		extURN  = "urn:kubernetes:/prod:shop:external-service/billing"
		billURN = "urn:kubernetes:/prod:shop:service/billing"
	)
	tests := []struct {
		name string
		svc  *corev1.Service
		want []string
	}{
		{
			name: "ClusterIP service with a selector",
			svc: &corev1.Service{
				ObjectMeta: objectMeta("shop", "cart", "svc-uid", map[string]string{"app": "cart"}),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"app": "cart"}, ClusterIP: "10.96.0.10"},
			},
			want: []string{
				"component service " + svcURN + " ns=shop name=cart uid=svc-uid identity=[service=cart] labels={app=cart}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> service " + svcURN,
			},
		},
		{
			name: "headless service without labels or selector",
			svc: &corev1.Service{
				ObjectMeta: objectMeta("shop", "cart", "svc-uid", nil),
				Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone},
			},
			want: []string{
				"component service " + svcURN + " ns=shop name=cart uid=svc-uid identity=[service=cart] labels={}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> service " + svcURN,
			},
		},
		{
			name: "LoadBalancer service",
			svc: &corev1.Service{
				ObjectMeta: objectMeta("shop", "cart", "svc-uid", nil),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "cart"}},
			},
			want: []string{
				"component service " + svcURN + " ns=shop name=cart uid=svc-uid identity=[service=cart] labels={}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> service " + svcURN,
			},
		},
		{
			name: "ExternalName service uses its external-service",
			svc: &corev1.Service{
				ObjectMeta: objectMeta("shop", "billing", "bill-uid", map[string]string{"team": "payments"}),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "billing.example.com"},
			},
			want: []string{
				"component service " + billURN + " ns=shop name=billing uid=bill-uid identity=[service=billing] labels={team=payments}",
				"component external-service " + extURN + " ns=shop name=billing uid=bill-uid identity=[service=billing] labels={team=payments}",
				"relation encloses namespace urn:kubernetes:/prod:namespace/shop -> service " + billURN,
				"relation uses service " + billURN + " -> external-service " + extURN,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertResult(t, MapService(testURNs, tt.svc), tt.want)
		})
	}
}

func TestServiceSelector(t *testing.T) {
	tests := []struct {
		name    string
		spec    corev1.ServiceSpec
		want    string // selector String(), "" for a nil selector
		matches map[string]string
		misses  map[string]string
	}{
		{name: "no selector", spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}},
		{name: "empty selector", spec: corev1.ServiceSpec{Selector: map[string]string{}}},
		{name: "ExternalName ignores its selector", spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "x.example.com", Selector: map[string]string{"app": "cart"}}},
		{
			name:    "ClusterIP selector",
			spec:    corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"app": "cart", "tier": "web"}},
			want:    "app=cart,tier=web",
			matches: map[string]string{"app": "cart", "tier": "web", "pod-template-hash": "7d9f"},
			misses:  map[string]string{"app": "cart"},
		},
		{
			name:    "selector without type (defaults to ClusterIP)",
			spec:    corev1.ServiceSpec{Selector: map[string]string{"app": "cart"}},
			want:    "app=cart",
			matches: map[string]string{"app": "cart"},
			misses:  map[string]string{"app": "checkout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel := ServiceSelector(&corev1.Service{ObjectMeta: objectMeta("shop", "cart", "", nil), Spec: tt.spec})
			if tt.want == "" {
				if sel != nil {
					t.Fatalf("ServiceSelector = %q, want nil", sel.String())
				}
				return
			}
			if sel == nil {
				t.Fatalf("ServiceSelector = nil, want %q", tt.want)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("ServiceSelector = %q, want %q", got, tt.want)
			}
			if !sel.Matches(labels.Set(tt.matches)) {
				t.Errorf("selector %q does not match %v", tt.want, tt.matches)
			}
			if sel.Matches(labels.Set(tt.misses)) {
				t.Errorf("selector %q matches %v", tt.want, tt.misses)
			}
		})
	}
}

func TestExposesPod(t *testing.T) {
	tests := []struct {
		name                   string
		namespace, svc, podNme string
		want                   Relation
	}{
		{
			name: "service exposes pod", namespace: "shop", svc: "cart", podNme: "cart-7d9f-abcde",
			want: Relation{
				Type:       "exposes",
				Source:     "urn:kubernetes:/prod:shop:service/cart",
				SourceType: "service",
				Target:     "urn:kubernetes:/prod:shop:pod/cart-7d9f-abcde",
				TargetType: "pod",
			},
		},
		{
			name: "other namespace", namespace: "kube-system", svc: "kube-dns", podNme: "coredns-5d78c9869d-6xq7p",
			want: Relation{
				Type:       "exposes",
				Source:     "urn:kubernetes:/prod:kube-system:service/kube-dns",
				SourceType: "service",
				Target:     "urn:kubernetes:/prod:kube-system:pod/coredns-5d78c9869d-6xq7p",
				TargetType: "pod",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ExposesPod(testURNs, tt.namespace, tt.svc, tt.podNme)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
