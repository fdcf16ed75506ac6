package topology

import discoveryv1 "k8s.io/api/discovery/v1"

// managedByController marks EndpointSlices that Kubernetes derives from a
// Service's selector; those add nothing to what the selector already says.
const managedByController = "endpointslice-controller.k8s.io"

// MapEndpointSlice declares service → pod for Services without a selector,
// whose EndpointSlices are written by hand or mirrored from Endpoints: the
// slice's pod targets are the pods the Service exposes.
func MapEndpointSlice(u URNs, es *discoveryv1.EndpointSlice) Result {
	var r Result
	svc := es.Labels[discoveryv1.LabelServiceName]
	if svc == "" || es.Labels[discoveryv1.LabelManagedBy] == managedByController {
		return r
	}
	seen := map[string]bool{}
	for _, ep := range es.Endpoints {
		ref := ep.TargetRef
		if ref == nil || ref.Kind != "Pod" || ref.Name == "" || seen[ref.Name] {
			continue
		}
		ns := ref.Namespace
		if ns == "" {
			ns = es.Namespace
		}
		if ns != es.Namespace {
			continue // a Service exposes pods of its own namespace only
		}
		seen[ref.Name] = true
		r.Relations = append(r.Relations, ExposesPod(u, es.Namespace, svc, ref.Name))
	}
	return r
}
