package topology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

func serviceBackend(name string) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
		Name: name, Port: networkingv1.ServiceBackendPort{Number: 80},
	}}
}

func httpRule(host string, backends ...networkingv1.IngressBackend) networkingv1.IngressRule {
	paths := make([]networkingv1.HTTPIngressPath, len(backends))
	for i, b := range backends {
		paths[i] = networkingv1.HTTPIngressPath{Path: "/p" + string(rune('a'+i)), Backend: b}
	}
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{
		HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths},
	}}
}

func TestMapIngress(t *testing.T) {
	const (
		ingURN      = "urn:kubernetes:/prod:shop:ingress/web"
		ingNoLabels = "component ingress " + ingURN + " ns=shop name=web uid=ing-uid identity=[ingress=web] labels={}"
	)
	resource := networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Kind: "StorageBucket", Name: "static"}}
	tests := []struct {
		name   string
		labels map[string]string
		spec   networkingv1.IngressSpec
		lb     []networkingv1.IngressLoadBalancerIngress
		want   []string
	}{
		{
			name:   "default backend and rule paths, each service routed once",
			labels: map[string]string{"app": "web"},
			spec: networkingv1.IngressSpec{
				DefaultBackend: ptrTo(serviceBackend("frontend")),
				Rules: []networkingv1.IngressRule{
					httpRule("shop.example.com", serviceBackend("cart"), serviceBackend("cart"), resource, serviceBackend("frontend")),
					{Host: "no-http.example.com"}, // a rule without HTTP paths
					httpRule("api.example.com", serviceBackend("checkout"), serviceBackend("cart")),
				},
			},
			want: []string{
				"component ingress " + ingURN + " ns=shop name=web uid=ing-uid identity=[ingress=web] labels={app=web}",
				"relation routes ingress " + ingURN + " -> service urn:kubernetes:/prod:shop:service/frontend",
				"relation routes ingress " + ingURN + " -> service urn:kubernetes:/prod:shop:service/cart",
				"relation routes ingress " + ingURN + " -> service urn:kubernetes:/prod:shop:service/checkout",
			},
		},
		{
			name: "resource backends are ignored",
			spec: networkingv1.IngressSpec{
				DefaultBackend: &resource,
				Rules:          []networkingv1.IngressRule{httpRule("static.example.com", resource)},
			},
			want: []string{ingNoLabels},
		},
		{
			name: "no backend at all",
			want: []string{ingNoLabels},
		},
		{
			name: "load-balancer IP and hostname are endpoints routing to the ingress",
			spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{httpRule("", serviceBackend("cart"))}},
			lb: []networkingv1.IngressLoadBalancerIngress{
				{IP: "203.0.113.10"},
				{Hostname: "lb-123.elb.example.com"},
			},
			want: []string{
				ingNoLabels,
				"relation routes ingress " + ingURN + " -> service urn:kubernetes:/prod:shop:service/cart",
				"component endpoint urn:endpoint:/prod:203.0.113.10 ns= name=203.0.113.10 uid= identity=[] labels=nil",
				"component endpoint urn:endpoint:/prod:lb-123.elb.example.com ns= name=lb-123.elb.example.com uid= identity=[] labels=nil",
				"relation routes endpoint urn:endpoint:/prod:203.0.113.10 -> ingress " + ingURN,
				"relation routes endpoint urn:endpoint:/prod:lb-123.elb.example.com -> ingress " + ingURN,
			},
		},
		{
			name: "load-balancer entry with both IP and hostname",
			lb:   []networkingv1.IngressLoadBalancerIngress{{IP: "198.51.100.4", Hostname: "web.example.net"}},
			want: []string{
				ingNoLabels,
				"component endpoint urn:endpoint:/prod:198.51.100.4 ns= name=198.51.100.4 uid= identity=[] labels=nil",
				"component endpoint urn:endpoint:/prod:web.example.net ns= name=web.example.net uid= identity=[] labels=nil",
				"relation routes endpoint urn:endpoint:/prod:198.51.100.4 -> ingress " + ingURN,
				"relation routes endpoint urn:endpoint:/prod:web.example.net -> ingress " + ingURN,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := &networkingv1.Ingress{
				ObjectMeta: objectMeta("shop", "web", "ing-uid", tt.labels),
				Spec:       tt.spec,
				Status:     networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: tt.lb}},
			}
			assertResult(t, MapIngress(testURNs, ing), tt.want)
		})
	}
}
