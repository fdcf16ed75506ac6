//go:build integration

// Package receiver proves kubetopo-receiver against real Prometheus servers:
// Prometheus 2.42 (Remote-Write 1.0) and 3.15 (2.0) remote-write into the
// receiver, which forwards into other real Prometheus servers; what they
// store must equal what the senders scraped, through downstream outages,
// bad requests and shutdowns. Run with `make integration` (it sets
// KUBETOPO_TESTBED_BIN).
package receiver

import (
	"os"
	"testing"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const receiverName = "kubetopo-receiver"

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveWritePathEnv); addr != "" {
		os.Exit(serveWritePath(addr)) // the benchmark's write-path-only receiver process
	}
	testenv.Main(m, receiverName)
}
