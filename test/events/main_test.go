//go:build integration

// Package events proves the cluster agent's event stream against a real
// kube-apiserver with controllers and kwok nodes (internal/testbed) and a real
// Prometheus 2.42 as the remote-write receiver: each event arrives with its
// category and component URN, exactly once per count, across an agent
// restart. Run it with `make integration`, or
// KUBETOPO_TESTBED_BIN=$(hack/testbed/build.sh | tail -1) go test -tags integration ./test/events/
package events

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
		fmt.Fprintln(os.Stderr, "KUBETOPO_TESTBED_BIN is not set: run `make integration`, which builds the test cluster binaries (hack/testbed/build.sh) and sets it")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "kubetopo-events-bin")
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
