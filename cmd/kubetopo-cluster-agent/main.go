// Command kubetopo-cluster-agent watches the Kubernetes API and publishes the
// cluster's topology — every component and every relation — as Prometheus
// info series keyed by StackState-compatible URNs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/clusteragent"
	"github.com/kubetopo/kubetopo/internal/logging"
	"github.com/kubetopo/kubetopo/internal/server"
)

const name = "kubetopo-cluster-agent"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := kingpin.New(name, "Publishes a Kubernetes cluster's topology as Prometheus info series.")
	var (
		webFlags    = kingpinflag.AddFlags(app, ":9847")
		metricsPath = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		kubeconfig  = app.Flag("kubeconfig", "Path to a kubeconfig file. Empty: in-cluster config, else $KUBECONFIG or ~/.kube/config.").Default("").String()
		cluster     = app.Flag("cluster.name", "Name of the cluster: part of every URN (required).").Required().String()
		resources   = app.Flag("resources", "Comma-separated resources to watch (default: all).").Default("").String()
		disabled    = app.Flag("resources.disable", "Comma-separated resources not to watch, e.g. secrets.").Default("").String()
		allowLabels = app.Flag("labels.allowlist", "Comma-separated Kubernetes label keys to publish, '*' matching any run of characters (default: all).").Default("").String()
		denyLabels  = app.Flag("labels.denylist", "Comma-separated Kubernetes label keys never to publish; wins over the allowlist.").Default("").String()
		apiQPS      = app.Flag("kube.api-qps", "Queries per second to the apiserver (initial lists and watch restarts).").Default("50").Float32()
		apiBurst    = app.Flag("kube.api-burst", "Burst of queries to the apiserver.").Default("100").Int()
		logLevel    = app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").Enum(logging.Levels...)
		logFormat   = app.Flag("log.format", "Output format of log messages: logfmt, json.").Default("logfmt").Enum(logging.Formats...)
	)
	cpFlags := addControlPlaneFlags(app)
	app.Version(version.Print(name))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	logger, err := logging.New(os.Stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	klog.SetLogger(logging.Logr(logger))

	kinds, err := clusteragent.SelectKinds(clusteragent.SplitList(*resources), clusteragent.SplitList(*disabled))
	if err != nil {
		level.Error(logger).Log("msg", "bad flags", "err", err)
		return 2
	}
	filter, err := exporter.NewLabelFilter(clusteragent.SplitList(*allowLabels), clusteragent.SplitList(*denyLabels))
	if err != nil {
		level.Error(logger).Log("msg", "bad flags", "err", err)
		return 2
	}
	cfg, err := restConfig(*kubeconfig)
	if err != nil {
		level.Error(logger).Log("msg", "cannot configure the Kubernetes client", "err", err)
		return 1
	}
	cfg.QPS, cfg.Burst = *apiQPS, *apiBurst
	cfg.UserAgent = name + "/" + version.Version
	cpCfg := rest.CopyConfig(cfg) // before the topology's request counting
	reg := prometheus.NewRegistry()
	if err := clusteragent.InstrumentConfig(cfg, reg, kinds); err != nil {
		level.Error(logger).Log("msg", "cannot instrument the Kubernetes client", "err", err)
		return 1
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		level.Error(logger).Log("msg", "cannot create the Kubernetes client", "err", err)
		return 1
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		level.Error(logger).Log("msg", "cannot create the Kubernetes metadata client", "err", err)
		return 1
	}

	reg.MustRegister(versioncollector.NewCollector("kubetopo"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	store := exporter.NewStore(*cluster, filter)
	agent, err := clusteragent.New(clusteragent.Options{
		Cluster: *cluster, Client: client, Metadata: md, Kinds: kinds,
		Store: store, Logger: logger, Registerer: reg,
	})
	if err != nil {
		level.Error(logger).Log("msg", "cannot start the agent", "err", err)
		return 1
	}

	cp, err := cpFlags.build(cpCfg, *cluster, logger, reg)
	if err != nil {
		level.Error(logger).Log("msg", "cannot configure the control-plane view", "err", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "cluster", *cluster, "apiserver", cfg.Host, "resources", len(kinds))
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return agent.Run(ctx) })
	if cp != nil {
		g.Go(func() error { return cp.Run(ctx) })
	}
	g.Go(func() error {
		return server.Run(ctx, server.Options{
			Name: name, Description: "Kubernetes topology as Prometheus info series",
			MetricsPath: *metricsPath, Metrics: exporter.NewHandler(store, reg, logger),
			Ready: agent.Synced, Flags: webFlags, Logger: logger,
		})
	})
	if err := g.Wait(); err != nil {
		level.Error(logger).Log("msg", "stopped", "err", err)
		return 1
	}
	return 0
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}
