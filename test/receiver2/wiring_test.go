//go:build integration

package receiver2

import (
	"context"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kubetopo/kubetopo/internal/mapping"
	"github.com/kubetopo/kubetopo/internal/promquery"
	"github.com/kubetopo/kubetopo/internal/receiver"
	"github.com/kubetopo/kubetopo/internal/server"
	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/topoapi"
	"github.com/kubetopo/kubetopo/remotewrite"
)

func startOptions() testbed.Options { return testbed.Options{Controllers: true, KwokNodes: 3} }

type receiverProc struct {
	addr, key string
}

// startReceiver runs the receiver in this process, wired as
// cmd/kubetopo-receiver wires it: remotewrite's handler with the receiver as
// its Processor (enrichment on), forwarding to the downstream's remote-write
// receiver, the topology API behind the same API key, the downstream's query
// API for rebuild and time travel, and /metrics.
func startReceiver(t *testing.T, downstreamURL string) receiverProc {
	t.Helper()
	logger := log.NewLogfmtLogger(log.NewSyncWriter(os.Stderr))
	reg := prometheus.NewRegistry()
	cfg, err := mapping.LoadFile("")
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := receiver.New(receiver.Options{
		Mapper: mapping.New(cfg, mapping.Options{}), Registerer: reg, Logger: logger,
		HealthInterval: time.Second, Downstream: &promquery.Client{URL: downstreamURL},
	})
	if err != nil {
		t.Fatal(err)
	}
	const key = "e2e-secret-key"
	keys := remotewrite.NewAPIKeys(key)
	ds, err := remotewrite.NewDownstream(downstreamURL+"/api/v1/write", "1.0", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h, err := remotewrite.NewHandler(remotewrite.Options{
		Logger: logger, Registerer: reg, Keys: keys, Downstreams: []remotewrite.Downstream{ds},
		Processor: rcv.Processor(receiver.ProcessorOptions{Enrich: true}),
	})
	if err != nil {
		t.Fatal(err)
	}
	extra := topoapi.New(topoapi.Options{Source: rcv, Auth: receiver.APIKeyAuth(keys), Logger: logger}).Routes()
	extra["/api/v1/write"] = h
	mux, err := server.Mux(server.Options{
		Name: "kubetopo-receiver", MetricsPath: "/metrics", Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Extra: extra, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := rcv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	go rcv.Run(ctx)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
	})
	return receiverProc{addr: l.Addr().String(), key: key}
}
