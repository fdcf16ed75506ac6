//go:build integration

// Package receiver2 proves the receiver's topology, mapping, health and
// topology API end to end on a real cluster: the cluster agent and a
// kube-state-metrics stand-in scraped by a real Prometheus, which
// remote-writes into the receiver, which forwards to a second real
// Prometheus that the time-travel questions are answered from. Run it with
// `make integration` (KUBETOPO_TESTBED_BIN set to the testbed's bin dir).
package receiver2

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	binDir      string // the testbed's binaries
	agentBin    string // the cluster agent, built for this run
	receiverBin string // the receiver, built for this run
)

func TestMain(m *testing.M) {
	binDir = os.Getenv("KUBETOPO_TESTBED_BIN")
	if binDir == "" {
		fmt.Fprintln(os.Stderr, "KUBETOPO_TESTBED_BIN is not set: run `make integration`, which builds the test cluster binaries (hack/testbed/build.sh) and sets it")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "kubetopo-receiver2-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "kubetopo-cluster-agent")
	receiverBin = filepath.Join(dir, "kubetopo-receiver")
	for bin, pkg := range map[string]string{agentBin: "./cmd/kubetopo-cluster-agent", receiverBin: "./cmd/kubetopo-receiver"} {
		build := exec.Command("go", "build", "-o", bin, "github.com/kubetopo/kubetopo/"+pkg[2:])
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
