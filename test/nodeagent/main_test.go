//go:build integration

// Package nodeagent is the node agent's end-to-end suite: a real control
// plane with controllers and kwok nodes, the real cluster agent and node
// agent binaries, kubelet and kube-state-metrics stand-ins serving recorded
// expositions rewritten to the cluster's real objects, and a real Prometheus
// scraping both agents. Run it with `make integration`.
package nodeagent

import (
	"testing"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// The kubetopo binaries this suite runs, built once by TestMain.
const (
	clusterAgent = "kubetopo-cluster-agent"
	nodeAgent    = "kubetopo-node-agent"
	receiver     = "kubetopo-receiver"
)

func TestMain(m *testing.M) { testenv.Main(m, clusterAgent, nodeAgent, receiver) }
