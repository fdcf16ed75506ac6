// Command kubetopo-node-agent runs on every node (a DaemonSet): it scrapes
// its node's kubelet (/metrics, /metrics/cadvisor, /metrics/resource,
// /metrics/probes) and the kube-state-metrics pods scheduled on the same
// node, and republishes their series with `cluster` and the `urn` of the
// component each describes, plus the node's host information.
package main

import (
	"context"
	"os"
	"strings"

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"

	"github.com/kubetopo/kubetopo/internal/cli"
	"github.com/kubetopo/kubetopo/internal/cli/kube"
	"github.com/kubetopo/kubetopo/internal/nodeagent"
	"github.com/kubetopo/kubetopo/internal/server"
)

const name = "kubetopo-node-agent"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := cli.New(cli.Options{
		Name: name, Help: "Republishes a node's kubelet and kube-state-metrics series with kubetopo component URNs.",
		Listen: ":9849", Kubeconfig: true,
	})
	var (
		cluster     = app.Flag("cluster.name", "Name of the cluster: part of every URN (required).").Required().String()
		nodeName    = app.Flag("node.name", "Name of this node (downward API spec.nodeName).").Envar("NODE_NAME").Required().String()
		kHost       = app.Flag("kubelet.host", "Address of this node's kubelet (downward API status.hostIP).").Envar("NODE_IP").String()
		kPort       = app.Flag("kubelet.port", "Port of the kubelet's authenticated endpoint.").Default("10250").Int()
		kScheme     = app.Flag("kubelet.scheme", "Scheme of the kubelet endpoint: https or http.").Default("https").Enum("https", "http")
		kEndpoints  = app.Flag("kubelet.endpoints", "Comma-separated kubelet paths to scrape.").Default(strings.Join(nodeagent.DefaultKubeletEndpoints, ",")).String()
		kToken      = app.Flag("kubelet.token-file", "Bearer token for the kubelet, re-read on every scrape (empty: none).").Default("/var/run/secrets/kubernetes.io/serviceaccount/token").String()
		kCA         = app.Flag("kubelet.ca-file", "CA certificate(s) that verify the kubelet's serving certificate (empty: system roots).").Default("").String()
		kInsecure   = app.Flag("kubelet.insecure-skip-verify", "Do not verify the kubelet's serving certificate (kubelets with self-signed certificates).").Bool()
		ksmEnabled  = app.Flag("kube-state-metrics.enabled", "Scrape kube-state-metrics pods running on this node.").Default("true").Bool()
		ksmSelector = app.Flag("kube-state-metrics.selector", "Label selector of kube-state-metrics pods.").Default("app.kubernetes.io/name=kube-state-metrics").String()
		ksmPort     = app.Flag("kube-state-metrics.port-name", "Name of the kube-state-metrics container port to scrape.").Default("http-metrics").String()
		ksmScheme   = app.Flag("kube-state-metrics.scheme", "Scheme of the kube-state-metrics endpoint.").Default("http").Enum("http", "https")
		ksmHost     = app.Flag("kube-state-metrics.host-override", "Dial this host instead of the pod IP (tests only).").Hidden().String()
		interval    = app.Flag("scrape.interval", "Time between scrape rounds of all sources.").Default("15s").Duration()
		timeout     = app.Flag("scrape.timeout", "Timeout of one source's scrape.").Default("10s").Duration()
		maxBytes    = app.Flag("scrape.max-bytes", "Largest exposition accepted from one source; larger ones fail that source's scrape.").Default("67108864").Int64()
		procRoot    = app.Flag("path.procfs", "The host's /proc, mounted into the container.").Default("/proc").String()
	)
	app.AddLogFlags()
	pushFlags := addPushFlags(app.Application)
	logger, code := app.Parse(args)
	if logger == nil {
		return code
	}

	var client kubernetes.Interface
	if *ksmEnabled || *app.Kubeconfig != "" || os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		cfg, err := kube.RESTConfig(*app.Kubeconfig)
		if err != nil {
			level.Error(logger).Log("msg", "cannot configure the Kubernetes client", "err", err)
			return 1
		}
		cfg.UserAgent = app.UserAgent()
		if client, err = kubernetes.NewForConfig(cfg); err != nil {
			level.Error(logger).Log("msg", "cannot create the Kubernetes client", "err", err)
			return 1
		}
	}
	reg := cli.Registry("kubetopo")
	var endpoints []string
	for _, e := range strings.Split(*kEndpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			endpoints = append(endpoints, e)
		}
	}
	pusher, err := pushFlags.build(*cluster, logger, reg)
	if err != nil {
		level.Error(logger).Log("msg", "bad flags", "err", err)
		return 2
	}
	agent, err := nodeagent.New(nodeagent.Options{
		Cluster: *cluster, Node: *nodeName, Client: client,
		Kubelet: nodeagent.KubeletOptions{
			Scheme: *kScheme, Host: *kHost, Port: *kPort, Endpoints: endpoints,
			TokenFile: *kToken, CAFile: *kCA, InsecureSkipVerify: *kInsecure,
			Timeout: *timeout, MaxBytes: *maxBytes,
		},
		KSM: nodeagent.KSMOptions{
			Enabled: *ksmEnabled, LabelSelector: *ksmSelector, PortName: *ksmPort, Scheme: *ksmScheme,
			HostOverride: *ksmHost, Timeout: *timeout, MaxBytes: *maxBytes,
		},
		ProcRoot: *procRoot, Interval: *interval, AfterRound: pusher.afterRound,
		Logger: logger, Registerer: reg,
	})
	if err != nil {
		level.Error(logger).Log("msg", "bad flags", "err", err)
		return 2
	}

	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "cluster", *cluster, "node", *nodeName)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return agent.Run(ctx) })
	g.Go(func() error { return pusher.run(ctx) })
	g.Go(func() error {
		return server.Run(ctx, server.Options{
			Name: name, Description: "Kubelet and kube-state-metrics series with kubetopo component URNs",
			MetricsPath: *app.MetricsPath, Metrics: agent.Handler(reg),
			Ready: agent.Ready, Flags: app.Web, Logger: logger,
		})
	})
	if err := g.Wait(); err != nil {
		level.Error(logger).Log("msg", "stopped", "err", err)
		return 1
	}
	return 0
}
