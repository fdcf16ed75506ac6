// Command kubetopo-demo runs the cluster agent's engine on an embedded,
// simulated cluster that keeps changing, and serves its topology like the
// real agent does: no Kubernetes cluster needed. `make demo` runs it.
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/clusteragent"
	"github.com/kubetopo/kubetopo/internal/demo"
	"github.com/kubetopo/kubetopo/internal/logging"
	"github.com/kubetopo/kubetopo/internal/server"
)

const name = "kubetopo-demo"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := kingpin.New(name, "Runs the kubetopo cluster agent on an embedded, changing simulated cluster.")
	var (
		webFlags     = kingpinflag.AddFlags(app, ":9847")
		metricsPath  = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		cluster      = app.Flag("cluster.name", "Name of the simulated cluster: part of every URN.").Default("demo").String()
		interval     = app.Flag("demo.interval", "Time between two changes to the simulated cluster.").Default("2s").Duration()
		summaryEvery = app.Flag("demo.summary-interval", "Time between two topology summaries on stdout.").Default("30s").Duration()
		logLevel     = app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").Enum(logging.Levels...)
		logFormat    = app.Flag("log.format", "Output format of log messages: logfmt, json.").Default("logfmt").Enum(logging.Formats...)
	)
	app.Version(version.Print(name))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	if *interval <= 0 || *summaryEvery <= 0 {
		fmt.Fprintf(os.Stderr, "%s: --demo.interval and --demo.summary-interval must be positive\n", name)
		return 2
	}
	logger, err := logging.New(os.Stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	klog.SetLogger(logging.Logr(logger))

	seed := uint64(time.Now().UnixNano())
	sim, err := demo.New(demo.Options{Rand: rand.New(rand.NewPCG(seed, seed>>1)), Interval: *interval, Logger: logger})
	if err != nil {
		level.Error(logger).Log("msg", "cannot build the simulated cluster", "err", err)
		return 1
	}
	client, md := sim.Clients()
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("kubetopo"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	store := exporter.NewStore(*cluster, nil)
	agent, err := clusteragent.New(clusteragent.Options{
		Cluster: *cluster, Client: client, Metadata: md, Store: store, Logger: logger, Registerer: reg,
	})
	if err != nil {
		level.Error(logger).Log("msg", "cannot start the agent", "err", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "cluster", *cluster, "seed", seed)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return agent.Run(ctx) })
	g.Go(func() error {
		return server.Run(ctx, server.Options{
			Name: name, Description: "Kubernetes topology of a simulated cluster as Prometheus info series",
			MetricsPath: *metricsPath, Metrics: exporter.NewHandler(store, reg, logger),
			Ready: agent.Synced, Flags: webFlags, Logger: logger,
		})
	})
	g.Go(func() error {
		// Start changing the cluster only once the agent shows it all.
		if err := sim.WaitSettled(ctx, *cluster, agent.Idle, store, time.Minute); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		demo.PrintIntro(os.Stdout, *webFlags.WebListenAddresses, *metricsPath, *cluster, *webFlags.WebConfigFile)
		fmt.Fprintln(os.Stdout, demo.Summary(store.Counts()))
		g.Go(func() error { return sim.Run(ctx) })
		return demo.PrintSummaries(ctx, os.Stdout, store, *summaryEvery)
	})
	if err := g.Wait(); err != nil {
		level.Error(logger).Log("msg", "stopped", "err", err)
		return 1
	}
	return 0
}
