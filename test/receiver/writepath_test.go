//go:build integration

package receiver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
	"github.com/kubetopo/kubetopo/remotewrite"
)

// The benchmark measures the write path alone (remotewrite.Handler, no
// topology Processor) in its own process: this test binary re-executed with
// serveWritePathEnv set to a listen address, and serveWritePathForwardEnv to
// "URL protocol" of an optional downstream.
const (
	serveWritePathEnv        = "KUBETOPO_TEST_SERVE_WRITE_PATH"
	serveWritePathForwardEnv = "KUBETOPO_TEST_SERVE_WRITE_PATH_FORWARD"
	// KUBETOPO_TEST_WRITE_PATH_CPUPROFILE=<file> profiles that process
	// (go tool pprof -top <file>).
	writePathProfileEnv = "KUBETOPO_TEST_WRITE_PATH_CPUPROFILE"
)

func serveWritePath(addr string) int {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	var ds []remotewrite.Downstream
	if f := strings.Fields(os.Getenv(serveWritePathForwardEnv)); len(f) == 2 {
		d, err := remotewrite.NewDownstream(f[0], f[1], 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ds = append(ds, d)
	}
	h, err := remotewrite.NewHandler(remotewrite.Options{Registerer: reg, Keys: remotewrite.NewAPIKeys(apiKey), Downstreams: ds})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/write", h)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if path := os.Getenv(writePathProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &http.Server{Handler: mux}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	_ = srv.Serve(l)
	return 0
}

// startWritePath runs the write-path-only receiver process.
func startWritePath(t testing.TB, ctx context.Context, forward string) *receiver {
	t.Helper()
	addr := testenv.FreeAddr(t)
	r := &receiver{URL: "http://" + addr, log: t.TempDir() + "/writepath.log", done: make(chan struct{})}
	logf, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = newCmd(os.Args[0])
	r.cmd.Env = append(os.Environ(), serveWritePathEnv+"="+addr, serveWritePathForwardEnv+"="+forward)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); logf.Close(); close(r.done) }()
	t.Cleanup(func() { r.stop(t) })
	waitFor(t, ctx, "write path ready", func() (bool, string) {
		resp, err := http.Get(r.URL + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return r
}
