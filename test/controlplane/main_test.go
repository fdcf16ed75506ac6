//go:build integration

// Package controlplane proves the cluster agent's control-plane view against a
// real control plane (internal/testbed: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler): the apiserver's health checks and
// metrics on the agent's /metrics, and a component stopped and started under
// it. Run it with `make integration`.
package controlplane

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
	dir, err := os.MkdirTemp("", "kubetopo-controlplane-bin")
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
