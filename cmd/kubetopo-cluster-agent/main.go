// Command kubetopo-cluster-agent watches the Kubernetes API and publishes the
// cluster's topology — every component and every relation — as Prometheus
// info series keyed by StackState-compatible URNs.
package main

import (
	"context"
	"os"

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/cli"
	"github.com/kubetopo/kubetopo/internal/cli/kube"
	"github.com/kubetopo/kubetopo/internal/clusteragent"
	"github.com/kubetopo/kubetopo/internal/events"
	"github.com/kubetopo/kubetopo/internal/push"
	"github.com/kubetopo/kubetopo/internal/server"
)

const name = "kubetopo-cluster-agent"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := cli.New(cli.Options{
		Name: name, Help: "Publishes a Kubernetes cluster's topology as Prometheus info series.",
		Listen: ":9847", Kubeconfig: true,
		// The agent's heap is mostly its long-lived caches and store and
		// it allocates little once synced: a collection when the heap grew
		// by a quarter costs little CPU and keeps memory well under
		// GOGC=100's twice the live heap (docs/cluster-agent.md § Memory).
		GOGC: 25,
	})
	var (
		cluster     = app.Flag("cluster.name", "Name of the cluster: part of every URN (required).").Required().String()
		resources   = app.Flag("resources", "Comma-separated resources to watch (default: all).").Default("").String()
		disabled    = app.Flag("resources.disable", "Comma-separated resources not to watch, e.g. secrets.").Default("").String()
		allowLabels = app.Flag("labels.allowlist", "Comma-separated Kubernetes label keys to publish, '*' matching any run of characters (default: all).").Default("").String()
		denyLabels  = app.Flag("labels.denylist", "Comma-separated Kubernetes label keys never to publish; wins over the allowlist.").Default("").String()
		apiQPS      = app.Flag("kube.api-qps", "Queries per second to the apiserver (initial lists and watch restarts).").Default("50").Float32()
		apiBurst    = app.Flag("kube.api-burst", "Burst of queries to the apiserver.").Default("100").Int()
		evEnabled   = app.Flag("events.enabled", "Watch Kubernetes events, count them in kubetopo_events_total and, with --remote-write.url, deliver them. --no-events.enabled turns it off.").Default("true").Bool()
		evOverrides = app.Flag("events.category-overrides", "YAML or JSON file mapping event reason to category (Activities, Alerts, Changes, Others); read and validated at start. See docs/events.md.").Default("").String()
		evCkpt      = app.Flag("events.checkpoint-file", "File remembering which event occurrences were counted and acknowledged by the receiver, so a restart neither repeats nor loses them (in Kubernetes: on an emptyDir or PVC). Empty: in memory only.").Default("").String()
		evAPI       = app.Flag("events.api", "Event API to watch: auto (events.k8s.io/v1 when served, else v1), events.k8s.io/v1, v1.").Default("auto").Enum("auto", string(clusteragent.EventsV1), string(clusteragent.CoreV1))
		evMsgMax    = app.Flag("events.message-max-bytes", "Longest event message sent in the message label; longer ones are cut and end in '…'.").Default("1024").Int()
		rwURL       = app.Flag("remote-write.url", "Receiver's Prometheus remote-write endpoint (e.g. https://kubetopo-receiver/api/v1/write). Empty: push nothing.").Default("").String()
		rwKeyFile   = app.Flag("remote-write.api-key-file", "File holding the API key for the receiver (never pass the key itself on the command line).").Default("").String()
		rwKeyHeader = app.Flag("remote-write.api-key-header", "Header carrying the API key; '-' for none.").Default(push.DefaultAPIKeyHeader).String()
		rwBasic     = app.Flag("remote-write.api-key-basic-auth", "Also send the API key as the password of basic auth user 'apikey' (StackState's receiver convention).").Default("false").Bool()
		rwTimeout   = app.Flag("remote-write.timeout", "Timeout of one remote-write request.").Default("30s").Duration()
		rwBatch     = app.Flag("remote-write.batch-size", "Most event series per remote-write request.").Default("500").Int()
		rwTopology  = app.Flag("remote-write.topology", "Also push the topology series (kubetopo_component_info, _labels, kubetopo_relation_info) every --remote-write.topology-interval.").Default("false").Bool()
		rwTopoEvery = app.Flag("remote-write.topology-interval", "How often the topology is pushed with --remote-write.topology.").Default("60s").Duration()
	)
	app.AddLogFlags()
	cpFlags := addControlPlaneFlags(app.Application)
	logger, code := app.Parse(args)
	if logger == nil {
		return code
	}

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
	// Flags that name files are checked before anything connects: a bad
	// file is exit code 2 with the reason, never a silent default.
	reg := cli.Registry("kubetopo")
	rw, err := remoteWrite(remoteWriteFlags{
		url: *rwURL, keyFile: *rwKeyFile, keyHeader: *rwKeyHeader, basicAuth: *rwBasic, timeout: *rwTimeout,
	}, reg, logger)
	if err != nil {
		level.Error(logger).Log("msg", "bad flags", "err", err)
		return 2
	}
	if *rwTopology && rw == nil {
		level.Error(logger).Log("msg", "bad flags", "err", "--remote-write.topology needs --remote-write.url")
		return 2
	}
	var pipeline *events.Pipeline
	if *evEnabled {
		pipeline, err = eventPipeline(*cluster, *evOverrides, *evCkpt, *evMsgMax, *rwBatch, rw, reg, logger)
		if err != nil {
			level.Error(logger).Log("msg", "bad flags", "err", err)
			return 2
		}
	}
	cfg, err := kube.RESTConfig(*app.Kubeconfig)
	if err != nil {
		level.Error(logger).Log("msg", "cannot configure the Kubernetes client", "err", err)
		return 1
	}
	cfg.QPS, cfg.Burst = *apiQPS, *apiBurst
	cfg.UserAgent = app.UserAgent()
	cpCfg := rest.CopyConfig(cfg) // before the topology's request counting
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

	store := exporter.NewStore(*cluster, filter)
	eventsAPI := clusteragent.EventsAPI(*evAPI)
	if eventsAPI == "auto" {
		eventsAPI = ""
	}
	agent, err := clusteragent.New(clusteragent.Options{
		Cluster: *cluster, Client: client, Metadata: md, Kinds: kinds,
		Store: store, Logger: logger, Registerer: reg, Events: pipeline, EventsAPI: eventsAPI,
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

	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "cluster", *cluster, "apiserver", cfg.Host, "resources", len(kinds))
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return agent.Run(ctx) })
	if pipeline != nil {
		g.Go(func() error { return pipeline.Run(ctx) })
	}
	if *rwTopology {
		topo, err := rw.stream("topology", reg)
		if err != nil {
			level.Error(logger).Log("msg", "cannot set up the topology push", "err", err)
			return 1
		}
		q, err := push.NewQueue(topo, 1, reg)
		if err != nil {
			level.Error(logger).Log("msg", "cannot set up the topology push", "err", err)
			return 1
		}
		g.Go(func() error { return q.Run(ctx) })
		g.Go(func() error {
			return clusteragent.PushTopology(ctx, clusteragent.TopologyPushOptions{
				Store: store, Queue: q, Interval: *rwTopoEvery, Ready: agent.Ready, Logger: logger,
			})
		})
	}
	if cp != nil {
		g.Go(func() error { return cp.Run(ctx) })
	}
	handler := exporter.NewHandler(store, reg, logger)
	if pipeline != nil {
		handler.WithFamilies(pipeline) // kubetopo_events_total, in no registry
	}
	g.Go(func() error {
		return server.Run(ctx, server.Options{
			Name: name, Description: "Kubernetes topology as Prometheus info series",
			MetricsPath: *app.MetricsPath, Metrics: withControlPlane(handler, cp),
			Ready: agent.Ready, Flags: app.Web, Logger: logger,
		})
	})
	if err := g.Wait(); err != nil {
		level.Error(logger).Log("msg", "stopped", "err", err)
		return 1
	}
	return 0
}
