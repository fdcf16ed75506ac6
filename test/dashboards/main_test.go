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
	"testing"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const agentName = "kubetopo-cluster-agent"

func TestMain(m *testing.M) { testenv.Main(m, agentName) }
