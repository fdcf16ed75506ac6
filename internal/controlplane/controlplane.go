package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/rest"

	"github.com/kubetopo/kubetopo/internal/republish"
	"github.com/kubetopo/kubetopo/topology"
)

// Options configure the control-plane view.
type Options struct {
	Cluster string
	// Config is the agent's Kubernetes client configuration. Use one without
	// the topology's request instrumentation: these polls are not informers.
	Config *rest.Config
	// Interval between polls of each health endpoint and scrapes of each
	// target; Timeout bounds each one (default: Interval, at most 10s).
	Interval, Timeout time.Duration
	// Components to scrape where the cluster exposes them (EndpointSlices in
	// kube-system) and Static instances configured by URL.
	Components []Component
	Static     []StaticTarget
	// TLS towards controller-manager, scheduler and etcd when they serve
	// HTTPS: their own CA (they often serve a self-signed certificate), or no
	// verification. The agent's credentials are sent over HTTPS only.
	ComponentCAFile             string
	ComponentInsecureSkipVerify bool
	Logger                      log.Logger
	Registerer                  prometheus.Registerer
}

// ControlPlane polls the control plane's health and metrics.
type ControlPlane struct {
	opts       Options
	urns       topology.URNs
	logger     log.Logger
	client     kubernetes.Interface
	health     *health
	factory    informers.SharedInformerFactory
	slices     discoverylisters.EndpointSliceLister
	synced     func() bool  // the EndpointSlice informer has synced
	secure     *http.Client // HTTPS targets, with the agent's credentials
	plain      *http.Client // HTTP targets, no credentials
	apiURL     string       // the apiserver's /metrics
	apiAddress string       // its host:port
	apiHTTP    *http.Client
	nTargets   *prometheus.GaugeVec
	rep        *republish.Republisher

	mu        sync.Mutex
	lastFound map[string]int  // component → instances found, for one log line per change
	scraped   map[string]bool // sources scraped last time
}

// New validates opts and builds the clients; Run starts polling.
func New(opts Options) (*ControlPlane, error) {
	if opts.Cluster == "" {
		return nil, errors.New("control plane: cluster name is empty")
	}
	if opts.Config == nil {
		return nil, errors.New("control plane: no Kubernetes client configuration")
	}
	if opts.Interval <= 0 {
		return nil, fmt.Errorf("--controlplane.interval: %s is not positive", opts.Interval)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = min(opts.Interval, 10*time.Second)
	}
	if opts.Timeout > opts.Interval {
		return nil, fmt.Errorf("--controlplane.timeout: %s is longer than --controlplane.interval %s", opts.Timeout, opts.Interval)
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	logger := log.With(opts.Logger, "component", "controlplane")

	// Its own client: its own rate limiter, so that a topology relist
	// storm does not delay health polls, and the reverse.
	cfg := rest.CopyConfig(opts.Config)
	cfg.QPS, cfg.Burst = 5, 10
	// componentstatuses answer with a deprecation warning on every list:
	// said once in the docs, not once per poll in the log.
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("control plane: Kubernetes client: %w", err)
	}
	apiHTTP, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("control plane: apiserver HTTP client: %w", err)
	}
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("control plane: apiserver URL: %w", err)
	}
	apiBase := *base
	base.Path = path.Join("/", base.Path, "metrics")
	secure, err := componentClient(cfg, opts.ComponentCAFile, opts.ComponentInsecureSkipVerify)
	if err != nil {
		return nil, err
	}
	urns := topology.NewURNs(opts.Cluster)
	c := &ControlPlane{
		opts: opts, urns: urns, logger: logger, client: client,
		health:     newHealth(opts.Cluster, urns.Cluster(), client, apiHTTP, &apiBase, opts.Timeout, logger),
		secure:     secure,
		plain:      &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 2, IdleConnTimeout: 2 * opts.Interval}},
		apiURL:     base.String(),
		apiAddress: base.Host,
		apiHTTP:    apiHTTP,
		nTargets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kubetopo_controlplane_targets",
			Help: "Instances of a control-plane component found to scrape (EndpointSlices in kube-system and configured URLs); 0 when the cluster does not expose it.",
		}, []string{"component"}),
		lastFound: map[string]int{},
		scraped:   map[string]bool{},
	}
	// Failures are logged here, once per change, not by the republisher
	// once per scrape.
	if c.rep, err = republish.New(republish.Options{Registerer: opts.Registerer}); err != nil {
		return nil, fmt.Errorf("control plane: register scrape metrics: %w", err)
	}
	for _, col := range []prometheus.Collector{c.health, c.nTargets} {
		if err := opts.Registerer.Register(col); err != nil {
			return nil, fmt.Errorf("control plane: register metrics: %w", err)
		}
	}
	for _, comp := range opts.Components {
		c.nTargets.WithLabelValues(comp.Name)
	}
	for _, s := range opts.Static {
		c.nTargets.WithLabelValues(s.Component)
	}
	if len(opts.Components) > 0 {
		services := make([]string, 0, len(opts.Components))
		for _, comp := range opts.Components {
			services = append(services, comp.Service)
		}
		req, err := labels.NewRequirement(discoveryv1.LabelServiceName, selection.In, services)
		if err != nil {
			return nil, fmt.Errorf("--controlplane.scrape-components: %w", err)
		}
		sel := labels.NewSelector().Add(*req).String()
		// A watch of the few slices of these Services in kube-system, not a
		// periodic list.
		c.factory = informers.NewSharedInformerFactoryWithOptions(client, 0,
			informers.WithNamespace(SystemNamespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel }))
		inf := c.factory.Discovery().V1().EndpointSlices()
		c.slices, c.synced = inf.Lister(), inf.Informer().HasSynced
	}
	return c, nil
}

// componentClient is an HTTP client carrying the agent's credentials (client
// certificate or bearer token, as in its kubeconfig or service account) with
// the components' own TLS trust instead of the apiserver's.
func componentClient(cfg *rest.Config, caFile string, insecure bool) (*http.Client, error) {
	if caFile != "" && insecure {
		return nil, errors.New("--controlplane.components.ca-file and --controlplane.components.insecure-skip-verify exclude each other")
	}
	c := rest.CopyConfig(cfg)
	c.TLSClientConfig = rest.TLSClientConfig{
		CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, CertData: cfg.CertData, KeyData: cfg.KeyData,
		CAFile: caFile, Insecure: insecure,
	}
	c.WrapTransport = nil
	hc, err := rest.HTTPClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("control plane: component HTTP client: %w", err)
	}
	return hc, nil
}

// Run polls until ctx ends. It never fails: every failure is a metric and a
// log line.
func (c *ControlPlane) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	every := func(fn func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(c.opts.Interval)
			defer tick.Stop()
			for {
				fn(ctx)
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	if c.factory != nil {
		c.factory.Start(ctx.Done())
	}
	every(func(ctx context.Context) { c.health.pollEndpoint(ctx, endpointReadyz) })
	every(func(ctx context.Context) { c.health.pollEndpoint(ctx, endpointLivez) })
	every(c.health.pollComponentStatuses)
	every(c.pollTargets)
	<-ctx.Done()
	wg.Wait()
	if c.factory != nil {
		c.factory.Shutdown()
	}
	return nil
}

// Targets returns the component instances to scrape now, and whether the
// EndpointSlices have been read (until then only configured URLs count).
func (c *ControlPlane) Targets() ([]Target, bool) {
	out := staticTargets(c.urns, c.opts.Static)
	if c.slices == nil {
		return out, true
	}
	if !c.synced() {
		return out, false
	}
	slices, err := c.slices.EndpointSlices(SystemNamespace).List(labels.Everything())
	if err != nil {
		return out, false
	}
	return append(out, targetsFromSlices(c.urns, c.opts.Components, slices)...), true
}

// pollTargets scrapes the apiserver's metrics and every instance's, and
// probes every instance's health, each in its own goroutine with its own
// timeout.
func (c *ControlPlane) pollTargets(ctx context.Context) {
	targets, discovered := c.Targets()
	c.noteTargets(targets, discovered)
	keep := map[componentHealthKey]bool{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.scrapeAll(ctx, c.sources(targets))
	}()
	for _, t := range targets {
		k := componentHealthKey{component: t.Component, address: t.Instance, urn: t.URN}
		keep[k] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.health.setComponentHealth(k, c.probeHealth(ctx, t))
		}()
	}
	wg.Wait()
	c.health.retainComponents(keep)
}

// noteTargets sets the target counts and logs, once per change, how many
// instances of each component were found.
func (c *ControlPlane) noteTargets(targets []Target, discovered bool) {
	found := map[string]int{}
	if discovered {
		for _, comp := range c.opts.Components {
			found[comp.Name] = 0
		}
	}
	for _, s := range c.opts.Static {
		found[s.Component] = 0
	}
	for _, t := range targets {
		found[t.Component]++
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, n := range found {
		c.nTargets.WithLabelValues(name).Set(float64(n))
		if last, ok := c.lastFound[name]; ok && last == n {
			continue
		}
		c.lastFound[name] = n
		if n == 0 {
			level.Info(c.logger).Log("msg", "control-plane component not exposed: no ready instance in the EndpointSlices of its Service in kube-system, no URL configured; not scraping it", "name", name)
			continue
		}
		level.Info(c.logger).Log("msg", "control-plane component found", "name", name, "instances", n)
	}
}

// probeHealth GETs the instance's health endpoint; 200 is healthy.
func (c *ControlPlane) probeHealth(ctx context.Context, t Target) bool {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.BaseURL+t.HealthPath, nil)
	if err != nil {
		return false
	}
	resp, err := c.httpFor(t.BaseURL).Do(req)
	if err != nil {
		level.Debug(c.logger).Log("msg", "component health probe failed", "name", t.Component, "instance", t.Instance, "err", err)
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode == http.StatusOK
}

// httpFor is the client for a target URL: credentials only over HTTPS.
func (c *ControlPlane) httpFor(base string) *http.Client {
	if strings.HasPrefix(base, "https://") {
		return c.secure
	}
	return c.plain
}
