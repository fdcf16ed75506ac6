//go:build integration

// Package events proves the cluster agent's event stream against a real
// kube-apiserver with controllers and kwok nodes (internal/testbed) and a real
// Prometheus 2.42 as the remote-write receiver: each event arrives with its
// category and component URN, exactly once per count, across an agent
// restart. Run it with `make integration`, or
// KUBETOPO_TESTBED_BIN=$(hack/testbed/build.sh | tail -1) go test -tags integration ./test/events/
package events

import (
	"testing"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const agentName = "kubetopo-cluster-agent"

func TestMain(m *testing.M) { testenv.Main(m, agentName) }
