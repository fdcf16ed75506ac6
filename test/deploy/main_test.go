//go:build integration

// Package deploy proves the Helm chart (deploy/helm/kubetopo) and what is rendered from it:
// helm lint and template for every ci/*-values.yaml, every kubetopo container's flags parsed by
// the real binary, the chart installed into a real test cluster (internal/testbed) with its pods
// scheduled, the cluster agent run with the chart's own ServiceAccount token against the real
// apiserver — its requests recorded and compared with the ClusterRole both ways — and helm
// uninstall leaving nothing behind. Run it with `make integration`.
package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	binDir  string            // the testbed's binaries (helm, kube-apiserver, ...)
	helmBin string            // $KUBETOPO_TESTBED_BIN/helm
	binary  map[string]string // kubetopo binaries built for this run, by command name
	root    string            // the repository root
)

// kubetopoBinaries are the commands the chart may run; each is built if its package exists.
var kubetopoBinaries = []string{"kubetopo-cluster-agent", "kubetopo-node-agent", "kubetopo-receiver"}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	binDir = os.Getenv("KUBETOPO_TESTBED_BIN")
	if binDir == "" {
		fmt.Fprintln(os.Stderr, "KUBETOPO_TESTBED_BIN is not set: run `make integration`, which builds the test cluster binaries (hack/testbed/build.sh) and sets it")
		return 1
	}
	helmBin = filepath.Join(binDir, "helm")
	if _, err := os.Stat(helmBin); err != nil {
		fmt.Fprintf(os.Stderr, "%s is missing: run `hack/testbed/build.sh helm` (helm.sh/helm/v3 built from its Go module)\n", helmBin)
		return 1
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root = filepath.Join(wd, "..", "..")
	dir, err := os.MkdirTemp("", "kubetopo-deploy-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = map[string]string{}
	for _, name := range kubetopoBinaries {
		pkg := filepath.Join(root, "cmd", name)
		if !hasGoFiles(pkg) {
			continue
		}
		out := filepath.Join(dir, name)
		build := exec.Command("go", "build", "-o", out, "./cmd/"+name)
		build.Dir = root
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", name, err)
			return 1
		}
		binary[name] = out
	}
	return m.Run()
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}
