//go:build integration

// Package integration proves the cluster agent against a real kube-apiserver
// and etcd, built and started by internal/testbed (see hack/testbed). Run it
// with `make integration` (part of `make test`).
package integration

import (
	"testing"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const agentName = "kubetopo-cluster-agent"

func TestMain(m *testing.M) { testenv.Main(m, agentName) }
