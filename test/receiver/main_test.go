//go:build integration

// Package receiver proves kubetopo-receiver against real Prometheus servers:
// Prometheus 2.42 (Remote-Write 1.0) and 3.15 (2.0) remote-write into the
// receiver, which forwards into other real Prometheus servers; what they
// store must equal what the senders scraped, through downstream outages,
// bad requests and shutdowns. Run with `make integration` (it sets
// KUBETOPO_TESTBED_BIN).
package receiver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	binDir      string // the testbed's binaries (prometheus, prometheus3)
	receiverBin string // kubetopo-receiver, built for this run
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveWritePathEnv); addr != "" {
		os.Exit(serveWritePath(addr)) // the benchmark's write-path-only receiver process
	}
	binDir = os.Getenv("KUBETOPO_TESTBED_BIN")
	if binDir == "" {
		fmt.Fprintln(os.Stderr, "KUBETOPO_TESTBED_BIN is not set: run `make integration`, which builds the testbed binaries (hack/testbed/build.sh) and sets it")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "kubetopo-receiver-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	receiverBin = filepath.Join(dir, "kubetopo-receiver")
	build := exec.Command("go", "build", "-o", receiverBin, "github.com/kubetopo/kubetopo/cmd/kubetopo-receiver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building kubetopo-receiver:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
