//go:build integration

// Package controlplane proves the cluster agent's control-plane view against a
// real control plane (internal/testbed: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler): the apiserver's health checks and
// metrics on the agent's /metrics, and a component stopped and started under
// it. Run it with `make integration`.
package controlplane

import (
	"testing"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const agentName = "kubetopo-cluster-agent"

func TestMain(m *testing.M) { testenv.Main(m, agentName) }
