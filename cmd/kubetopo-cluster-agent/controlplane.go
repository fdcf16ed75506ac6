package main

import (
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/clusteragent"
	"github.com/kubetopo/kubetopo/internal/controlplane"
)

// controlPlaneFlags are the --controlplane.* flags (docs/control-plane.md).
type controlPlaneFlags struct {
	enabled    *bool
	interval   *time.Duration
	timeout    *time.Duration
	components *string
	urls       *[]string
	caFile     *string
	insecure   *bool
}

func addControlPlaneFlags(app *kingpin.Application) *controlPlaneFlags {
	return &controlPlaneFlags{
		enabled:    app.Flag("controlplane.enabled", "Publish the control plane's health (apiserver /readyz, /livez, componentstatuses) and metrics (apiserver, and etcd, controller-manager, scheduler where exposed).").Default("true").Bool(),
		interval:   app.Flag("controlplane.interval", "Interval between polls of each control-plane health endpoint and scrapes of each control-plane metrics source.").Default("15s").Duration(),
		timeout:    app.Flag("controlplane.timeout", "Timeout of each control-plane poll or scrape, at most --controlplane.interval (default: the interval, at most 10s).").Default("0s").Duration(),
		components: app.Flag("controlplane.scrape-components", "Comma-separated control-plane components to scrape where kube-system has EndpointSlices for their Service: etcd, controller-manager, scheduler; name=<service> looks for another Service name. Empty: none.").Default("etcd,controller-manager,scheduler").String(),
		urls:       app.Flag("controlplane.component-url", "A control-plane component instance to scrape at a fixed URL, as <component>=<scheme>://<host>:<port> (repeatable), for control planes not exposed as Services.").Strings(),
		caFile:     app.Flag("controlplane.components.ca-file", "CA bundle to verify the serving certificates of controller-manager, scheduler and etcd (default: the system roots).").Default("").String(),
		insecure:   app.Flag("controlplane.components.insecure-skip-verify", "Do not verify the serving certificates of controller-manager, scheduler and etcd (they serve self-signed ones unless configured otherwise).").Default("false").Bool(),
	}
}

// build returns nil when the control-plane view is disabled. cfg must not
// carry the topology's request instrumentation.
func (f *controlPlaneFlags) build(cfg *rest.Config, cluster string, logger log.Logger, reg prometheus.Registerer) (*controlplane.ControlPlane, error) {
	if !*f.enabled {
		return nil, nil
	}
	components, err := controlplane.ParseComponents(clusteragent.SplitList(*f.components))
	if err != nil {
		return nil, err
	}
	static, err := controlplane.ParseStaticTargets(*f.urls)
	if err != nil {
		return nil, err
	}
	return controlplane.New(controlplane.Options{
		Cluster: cluster, Config: cfg, Interval: *f.interval, Timeout: *f.timeout,
		Components: components, Static: static,
		ComponentCAFile: *f.caFile, ComponentInsecureSkipVerify: *f.insecure,
		Logger: logger, Registerer: reg,
	})
}

// withControlPlane serves the control plane's republished series on h's
// page, merged with the agent's own metrics; cp nil leaves h as it is.
func withControlPlane(h *exporter.Handler, cp *controlplane.ControlPlane) *exporter.Handler {
	if cp == nil {
		return h
	}
	return h.WithMetricsWriter(cp)
}
