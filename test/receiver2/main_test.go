//go:build integration

// Package receiver2 proves the receiver's topology, mapping, health and
// topology API end to end on a real cluster: the cluster agent and a
// kube-state-metrics stand-in scraped by a real Prometheus, which
// remote-writes into the receiver, which forwards to a second real
// Prometheus that the time-travel questions are answered from. Run it with
// `make integration` (KUBETOPO_TESTBED_BIN set to the testbed's bin dir).
package receiver2

import (
	"testing"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// The kubetopo binaries this suite runs, built once by TestMain.
const (
	agentName    = "kubetopo-cluster-agent"
	receiverName = "kubetopo-receiver"
)

func TestMain(m *testing.M) { testenv.Main(m, agentName, receiverName) }
