package topology

import networkingv1 "k8s.io/api/networking/v1"

// MapIngress maps an Ingress: it routes to the Services of its default backend
// and of every rule path, and each load-balancer address it has been given is
// an endpoint component that routes to it.
func MapIngress(u URNs, ing *networkingv1.Ingress) Result {
	var r Result
	c := objectComponent(u, TypeIngress, ing, Label{"ingress", ing.Name})
	r.add(c)

	seen := map[string]bool{}
	route := func(b *networkingv1.IngressBackend) {
		if b == nil || b.Service == nil || b.Service.Name == "" || seen[b.Service.Name] {
			return
		}
		seen[b.Service.Name] = true
		r.relate(RelRoutes, TypeIngress, c.URN, TypeService, u.Object(TypeService, ing.Namespace, b.Service.Name))
	}
	route(ing.Spec.DefaultBackend)
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for i := range rule.HTTP.Paths {
			route(&rule.HTTP.Paths[i].Backend)
		}
	}

	for _, lb := range ing.Status.LoadBalancer.Ingress {
		for _, addr := range []string{lb.IP, lb.Hostname} {
			if addr == "" {
				continue
			}
			ep := Component{URN: u.Endpoint(addr), Type: TypeEndpoint, Name: addr}
			r.add(ep)
			r.relate(RelRoutes, TypeEndpoint, ep.URN, TypeIngress, c.URN)
		}
	}
	return r
}
