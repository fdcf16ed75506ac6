// Command kubetopo-demo runs the cluster agent's engine on an embedded,
// simulated cluster that keeps changing, and serves its topology like the
// real agent does: no Kubernetes cluster needed. `make demo` runs it.
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"golang.org/x/sync/errgroup"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/cli"
	"github.com/kubetopo/kubetopo/internal/clusteragent"
	"github.com/kubetopo/kubetopo/internal/demo"
	"github.com/kubetopo/kubetopo/internal/server"
)

const name = "kubetopo-demo"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := cli.New(cli.Options{
		Name: name, Help: "Runs the kubetopo cluster agent on an embedded, changing simulated cluster.", Listen: ":9847",
	})
	var (
		cluster      = app.Flag("cluster.name", "Name of the simulated cluster: part of every URN.").Default("demo").String()
		interval     = app.Flag("demo.interval", "Time between two changes to the simulated cluster.").Default("2s").Duration()
		summaryEvery = app.Flag("demo.summary-interval", "Time between two topology summaries on stdout.").Default("30s").Duration()
	)
	logger, code := app.Parse(args)
	if logger == nil {
		return code
	}
	if *interval <= 0 || *summaryEvery <= 0 {
		return app.Fail("--demo.interval and --demo.summary-interval must be positive")
	}

	seed := uint64(time.Now().UnixNano())
	sim, err := demo.New(demo.Options{Rand: rand.New(rand.NewPCG(seed, seed>>1)), Interval: *interval, Logger: logger})
	if err != nil {
		level.Error(logger).Log("msg", "cannot build the simulated cluster", "err", err)
		return 1
	}
	client, md := sim.Clients()
	reg := cli.Registry("kubetopo")
	store := exporter.NewStore(*cluster, nil)
	agent, err := clusteragent.New(clusteragent.Options{
		Cluster: *cluster, Client: client, Metadata: md, Store: store, Logger: logger, Registerer: reg,
	})
	if err != nil {
		level.Error(logger).Log("msg", "cannot start the agent", "err", err)
		return 1
	}

	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "cluster", *cluster, "seed", seed)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return agent.Run(ctx) })
	g.Go(func() error {
		return server.Run(ctx, server.Options{
			Name: name, Description: "Kubernetes topology of a simulated cluster as Prometheus info series",
			MetricsPath: *app.MetricsPath, Metrics: exporter.NewHandler(store, reg, logger),
			Ready: agent.Ready, Flags: app.Web, Logger: logger,
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
		demo.PrintIntro(os.Stdout, *app.Web.WebListenAddresses, *app.MetricsPath, *cluster, *app.Web.WebConfigFile)
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
