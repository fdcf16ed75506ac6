//go:build integration

// Package dashboards runs every query of kubetopo's Grafana dashboards — each
// panel's and each variable's — against real Prometheus servers (2.42 and
// 3.15) that scrape the real cluster agent on a test cluster running the
// kube-state-metrics fixture's application, with kubetopo's recording rules
// loaded, and kube-state-metrics' recorded exposition served with the live
// cluster's object names. Run it with `make integration` (or
// `make dashboards-test`).
package dashboards

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	binDir   string // the testbed's binaries
	agentBin string // the cluster agent, built for this run
)

func TestMain(m *testing.M) {
	binDir = os.Getenv("KUBETOPO_TESTBED_BIN")
	if binDir == "" {
		fmt.Fprintln(os.Stderr, "KUBETOPO_TESTBED_BIN is not set: run `make integration` (or `make dashboards-test`), which builds the test cluster binaries (hack/testbed/build.sh) and sets it")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "kubetopo-dashboards-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "kubetopo-cluster-agent")
	build := exec.Command("go", "build", "-o", agentBin, "github.com/kubetopo/kubetopo/cmd/kubetopo-cluster-agent")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the cluster agent:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
