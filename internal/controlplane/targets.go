package controlplane

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/kubetopo/kubetopo/topology"
)

// Names of the control-plane components besides the apiserver.
const (
	Etcd              = "etcd"
	ControllerManager = "controller-manager"
	Scheduler         = "scheduler"
	// APIServer is the kube-apiserver the agent talks to.
	APIServer = "apiserver"
)

// SystemNamespace is where the agent looks for the control plane's
// EndpointSlices.
const SystemNamespace = "kube-system"

// Component is a control-plane component whose metrics the agent scrapes when
// the cluster exposes it: the EndpointSlices of Service Service in
// kube-system list its instances.
type Component struct {
	Name    string
	Service string
	// Scheme is used unless the slice's port says otherwise (appProtocol, or a
	// port name starting with "https").
	Scheme string
	// HealthPath is the component's unauthenticated health endpoint.
	HealthPath string
}

// defaultComponents are the Services a cluster exposes its control plane
// with when it does (kubeadm does not; kube-prometheus-style setups add them
// with these or other names), and how the components serve since Kubernetes
// 1.22: controller-manager and scheduler only on their secure ports, etcd's
// metrics on its plain-HTTP --listen-metrics-urls.
var defaultComponents = map[string]Component{
	Etcd:              {Name: Etcd, Service: "etcd", Scheme: "http", HealthPath: "/health"},
	ControllerManager: {Name: ControllerManager, Service: "kube-controller-manager", Scheme: "https", HealthPath: "/healthz"},
	Scheduler:         {Name: Scheduler, Service: "kube-scheduler", Scheme: "https", HealthPath: "/healthz"},
}

// ComponentNames lists the components ParseComponents knows.
func ComponentNames() []string { return []string{Etcd, ControllerManager, Scheduler} }

// ParseComponents parses --controlplane.scrape-components: a list of
// component names, each optionally "=<service name>" to look for another
// Service in kube-system than the default.
func ParseComponents(list []string) ([]Component, error) {
	var out []Component
	seen := map[string]bool{}
	for _, item := range list {
		name, service, hasService := strings.Cut(item, "=")
		c, ok := defaultComponents[name]
		if !ok {
			return nil, fmt.Errorf("--controlplane.scrape-components: unknown component %q (want %s)", name, strings.Join(ComponentNames(), ", "))
		}
		if hasService {
			if service == "" {
				return nil, fmt.Errorf("--controlplane.scrape-components: empty service name for %s", name)
			}
			c.Service = service
		}
		if seen[name] {
			return nil, fmt.Errorf("--controlplane.scrape-components: %s named twice", name)
		}
		seen[name] = true
		out = append(out, c)
	}
	return out, nil
}

// Target is one instance of a control-plane component to scrape.
type Target struct {
	Component string
	// BaseURL is scheme://host:port; the metrics are at BaseURL + "/metrics".
	BaseURL  string
	Instance string // host:port
	// URN is the component the series describe: the instance's pod when the
	// slice names one, else the cluster.
	URN        string
	HealthPath string
}

// StaticTarget is a component instance configured by URL
// (--controlplane.component-url), for control planes not exposed as Services.
type StaticTarget struct {
	Component string
	URL       *url.URL
}

// ParseStaticTargets parses --controlplane.component-url values:
// "<component>=<scheme>://<host>:<port>".
func ParseStaticTargets(list []string) ([]StaticTarget, error) {
	var out []StaticTarget
	for _, item := range list {
		name, raw, ok := strings.Cut(item, "=")
		if _, known := defaultComponents[name]; !ok || !known {
			return nil, fmt.Errorf("--controlplane.component-url: %q is not <component>=<url> with a component of %s", item, strings.Join(ComponentNames(), ", "))
		}
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("--controlplane.component-url: %s: %w", name, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("--controlplane.component-url: %s: want http(s)://host:port without a path, got %q", name, raw)
		}
		u.Path = ""
		out = append(out, StaticTarget{Component: name, URL: u})
	}
	return out, nil
}

// staticTargets turns configured URLs into targets with the cluster URN.
func staticTargets(urns topology.URNs, static []StaticTarget) []Target {
	out := make([]Target, 0, len(static))
	for _, s := range static {
		out = append(out, Target{
			Component: s.Component, BaseURL: s.URL.String(), Instance: s.URL.Host,
			URN: urns.Cluster(), HealthPath: defaultComponents[s.Component].HealthPath,
		})
	}
	return out
}

// portPreference orders the port names a metrics port goes by.
var portPreference = []string{"https-metrics", "http-metrics", "metrics", "https", "http"}

// targetsFromSlices lists the ready instances of each component in the
// EndpointSlices of its Service, one target per address and chosen port.
func targetsFromSlices(urns topology.URNs, components []Component, slices []*discoveryv1.EndpointSlice) []Target {
	byService := map[string]Component{}
	for _, c := range components {
		byService[c.Service] = c
	}
	seen := map[string]bool{}
	var out []Target
	for _, s := range slices {
		c, ok := byService[s.Labels[discoveryv1.LabelServiceName]]
		if !ok || s.Namespace != SystemNamespace {
			continue
		}
		port, ok := metricsPort(s.Ports)
		if !ok {
			continue
		}
		scheme := c.Scheme
		switch {
		case port.AppProtocol != nil && (*port.AppProtocol == "http" || *port.AppProtocol == "https"):
			scheme = *port.AppProtocol
		case port.Name != nil && strings.HasPrefix(*port.Name, "https"):
			scheme = "https"
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready || len(ep.Addresses) == 0 {
				continue
			}
			// Consumers use the first address: the others are the same endpoint.
			hostPort := net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*port.Port)))
			base := scheme + "://" + hostPort
			if seen[c.Name+" "+base] {
				continue
			}
			seen[c.Name+" "+base] = true
			urn := urns.Cluster()
			if r := ep.TargetRef; r != nil && r.Kind == "Pod" && r.Name != "" {
				ns := r.Namespace
				if ns == "" {
					ns = s.Namespace
				}
				urn = urns.Object(topology.TypePod, ns, r.Name)
			}
			out = append(out, Target{Component: c.Name, BaseURL: base, Instance: hostPort, URN: urn, HealthPath: c.HealthPath})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Component != out[j].Component {
			return out[i].Component < out[j].Component
		}
		return out[i].BaseURL < out[j].BaseURL
	})
	return out
}

// metricsPort picks the port by name preference, or the only port.
func metricsPort(ports []discoveryv1.EndpointPort) (discoveryv1.EndpointPort, bool) {
	for _, want := range portPreference {
		for _, p := range ports {
			if p.Name != nil && *p.Name == want && p.Port != nil {
				return p, true
			}
		}
	}
	if len(ports) == 1 && ports[0].Port != nil {
		return ports[0], true
	}
	return discoveryv1.EndpointPort{}, false
}
