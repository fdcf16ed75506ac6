// Command kubetopo-receiver is kubetopo's remote-write endpoint: it accepts
// Prometheus Remote-Write 1.0 and 2.0 from agents and Prometheus servers,
// authenticates them by API key and forwards every write to one or more
// downstream remote-write receivers, acknowledging only what all of them
// stored. It keeps no state.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/kubetopo/kubetopo/internal/cli"
	"github.com/kubetopo/kubetopo/internal/mapping"
	"github.com/kubetopo/kubetopo/internal/promquery"
	"github.com/kubetopo/kubetopo/internal/receiver"
	"github.com/kubetopo/kubetopo/internal/server"
	"github.com/kubetopo/kubetopo/internal/topoapi"
	"github.com/kubetopo/kubetopo/remotewrite"
)

const name = "kubetopo-receiver"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := cli.New(cli.Options{
		Name: name, Help: "Receives Prometheus remote-write (1.0 and 2.0) and forwards it to downstream remote-write receivers.",
		Listen: ":9848", TelemetryHelp: "Path under which to expose the receiver's own metrics.",
	})
	var (
		writePath       = app.Flag("web.write-path", "Path of the remote-write endpoint.").Default("/api/v1/write").String()
		shutdownTimeout = app.Flag("web.shutdown-timeout", "On SIGTERM, how long to wait for in-flight writes to finish.").Default("30s").Duration()
		apiKeyFile      = app.Flag("auth.api-key-file", "File with the API keys senders must present (one per line): X-API-Key or sts-api-key header, Authorization: Bearer, or basic auth as user 'apikey'. Unset: writes are not authenticated by key.").Default("").String()
		forwardURLs     = app.Flag("forward.url", "Downstream remote-write URL (repeatable). Every write is acknowledged only once all downstreams have it.").Strings()
		forwardProto    = app.Flag("forward.protocol", "Remote-write protocol of the --forward.url downstreams: 1.0 or 2.0.").Default("1.0").Enum("1.0", "2.0")
		forwardTimeout  = app.Flag("forward.timeout", "Timeout of one request to a --forward.url downstream.").Default("30s").Duration()
		forwardConfig   = app.Flag("forward.config.file", "YAML file with more downstreams and per-downstream protocol, timeout, headers, basic_auth.password_file and bearer_token_file (see docs/receiver.md).").Default("").String()
		maxBody         = app.Flag("write.max-body-bytes", "Largest compressed request body; larger get 413.").Default("32MiB").Bytes()
		maxDecoded      = app.Flag("write.max-decoded-bytes", "Largest decompressed request (from snappy's header, checked before decoding); larger get 413.").Default("64MiB").Bytes()
		maxInFlight     = app.Flag("write.max-in-flight", "Requests handled at once; more get 503 with Retry-After, which senders retry.").Default("64").Int()
		retryAfter      = app.Flag("write.retry-after", "Retry-After sent with 503 answers.").Default("1s").Duration()
		rulesFile       = app.Flag("mapping.rules-file", "YAML mapping rules (series → component) replacing the embedded defaults (see docs/mapping.md). Validated at start.").Default("").String()
		enrich          = app.Flag("mapping.enrich", "Add a urn label to forwarded series that map to a known component.").Default("true").Bool()
		staleness       = app.Flag("topology.staleness", "A topology or mapped series not seen for this long is gone (staleness markers remove it at once).").Default("5m").Duration()
		queryURL        = app.Flag("downstream.query-url", "Prometheus HTTP API (base URL) of the downstream TSDB: the topology is rebuilt from it on start, and questions with time= are answered from it. Unset: neither.").Default("").String()
		healthInterval  = app.Flag("health.interval", "How often health is recomputed.").Default("5s").Duration()
		rebuildInterval = app.Flag("topology.rebuild-interval", "Shortest time between rebuilds of the topology snapshot the API and health read (a rebuild is O(series)); 0 rebuilds on every read after a change.").Default("1s").Duration()
		maxStreams      = app.Flag("streams.max-per-component", "Telemetry streams listed per component (health check inputs always are).").Default("200").Int()
		maxEvents       = app.Flag("events.max-per-component", "Events kept per component, newest first.").Default("100").Int()
		eventRetention  = app.Flag("events.retention", "Events last seen longer ago are forgotten.").Default("1h").Duration()
	)
	logger, code := app.Parse(args)
	if logger == nil {
		return code
	}
	var downstreams []remotewrite.Downstream
	for _, u := range *forwardURLs {
		d, err := remotewrite.NewDownstream(u, *forwardProto, *forwardTimeout)
		if err != nil {
			level.Error(logger).Log("msg", "bad --forward.url", "err", err)
			return 2
		}
		downstreams = append(downstreams, d)
	}
	if *forwardConfig != "" {
		ds, err := remotewrite.LoadDownstreams(*forwardConfig)
		if err != nil {
			level.Error(logger).Log("msg", "bad --forward.config.file", "err", err)
			return 2
		}
		downstreams = append(downstreams, ds...)
	}
	var keys *remotewrite.APIKeys
	if *apiKeyFile != "" {
		var err error
		if keys, err = remotewrite.LoadAPIKeys(*apiKeyFile); err != nil {
			level.Error(logger).Log("msg", "bad --auth.api-key-file", "err", err)
			return 2
		}
	} else {
		level.Warn(logger).Log("msg", "no --auth.api-key-file: writes are accepted without an API key")
	}
	if len(downstreams) == 0 {
		level.Warn(logger).Log("msg", "no --forward.url or --forward.config.file: writes are acknowledged and discarded")
	}

	reg := cli.Registry("kubetopo_receiver")
	rules, err := mapping.LoadFile(*rulesFile)
	if err != nil {
		level.Error(logger).Log("msg", "bad --mapping.rules-file", "err", err)
		return 2
	}
	var tsdb *promquery.Client
	if *queryURL != "" {
		tsdb = &promquery.Client{URL: *queryURL}
	}
	rcv, err := receiver.New(receiver.Options{
		Mapper: mapping.New(rules, mapping.Options{}), Staleness: *staleness, EventRetention: *eventRetention,
		MaxStreams: *maxStreams, MaxEvents: *maxEvents, HealthInterval: *healthInterval, Downstream: tsdb,
		Registerer: reg, Logger: logger, TopologyRebuildInterval: *rebuildInterval,
	})
	if err != nil {
		level.Error(logger).Log("msg", "cannot build the receiver", "err", err)
		return 2
	}
	h, err := remotewrite.NewHandler(remotewrite.Options{
		Processor: rcv.Processor(receiver.ProcessorOptions{Enrich: *enrich}),
		Logger:    logger, Registerer: reg, Keys: keys,
		MaxBodyBytes: int(*maxBody), MaxDecodedBytes: int(*maxDecoded), MaxInFlight: *maxInFlight,
		RetryAfter: *retryAfter, Downstreams: downstreams, UserAgent: app.UserAgent(),
	})
	if err != nil {
		level.Error(logger).Log("msg", "cannot build the write handler", "err", err)
		return 2
	}

	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	names := make([]string, 0, len(downstreams))
	for _, d := range downstreams {
		names = append(names, d.Name)
	}
	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "write_path", *writePath, "downstreams", fmt.Sprint(names))
	go func() {
		if err := rcv.Rebuild(ctx); err != nil {
			level.Warn(logger).Log("msg", "topology not rebuilt from the downstream; it fills from the stream", "err", err)
		}
		rcv.Run(ctx)
	}()
	extra := topoapi.New(topoapi.Options{Source: rcv, Auth: receiver.APIKeyAuth(keys), Logger: logger}).Routes()
	extra[*writePath] = h
	err = server.Run(ctx, server.Options{
		Name: name, Description: "Prometheus remote-write receiver of kubetopo",
		MetricsPath: *app.MetricsPath, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Extra: extra,
		Links: []web.LandingLinks{{Address: *writePath, Text: "Remote-write endpoint (POST)"}, {Address: topoapi.Prefix, Text: "Topology API"}},
		Flags: app.Web, Logger: logger, ShutdownTimeout: *shutdownTimeout,
	})
	if err != nil {
		level.Error(logger).Log("msg", "stopped", "err", err)
		return 1
	}
	level.Info(logger).Log("msg", "stopped")
	return 0
}
