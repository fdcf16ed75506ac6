//go:build integration

// Package nodeagent is the node agent's end-to-end suite: a real control
// plane with controllers and kwok nodes, the real cluster agent and node
// agent binaries, kubelet and kube-state-metrics stand-ins serving recorded
// expositions rewritten to the cluster's real objects, and a real Prometheus
// scraping both agents. Run it with `make integration`.
package nodeagent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	binDir       string // the testbed's binaries
	clusterAgent string
	nodeAgent    string
	receiver     string
)

func TestMain(m *testing.M) {
	binDir = os.Getenv("KUBETOPO_TESTBED_BIN")
	if binDir == "" {
		fmt.Fprintln(os.Stderr, "KUBETOPO_TESTBED_BIN is not set: run `make integration`, which builds the test cluster binaries (hack/testbed/build.sh) and sets it")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "kubetopo-nodeagent-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	clusterAgent = filepath.Join(dir, "kubetopo-cluster-agent")
	nodeAgent = filepath.Join(dir, "kubetopo-node-agent")
	receiver = filepath.Join(dir, "kubetopo-receiver")
	for bin, pkg := range map[string]string{clusterAgent: "./cmd/kubetopo-cluster-agent", nodeAgent: "./cmd/kubetopo-node-agent", receiver: "./cmd/kubetopo-receiver"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Dir = "../.."
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", pkg+":", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
