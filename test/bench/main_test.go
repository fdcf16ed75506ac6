//go:build integration

// Package bench is the scale benchmark of the cluster agent: a real control
// plane with controllers and kwok nodes (internal/testbed) grown to 1k, 5k and
// 10k pods of a realistic shape (internal/scenario.RealisticUnit), the real
// agent binary synced against it, its memory, sync CPU, /metrics size,
// latency and CPU per scrape, and change→metric latency under a steady stream
// of updates while the full endpoint is scraped.
//
// It runs only when KUBETOPO_BENCH_SIZES is set (`make bench-scale`, through
// hack/bench/run.sh), never in `make test`. See docs/benchmarks.md.
package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	binDir      string // the testbed's binaries
	agentBin    string // the cluster agent as shipped
	profiledBin string // the same agent with net/http/pprof on $KUBETOPO_BENCH_PPROF_ADDR
)

func TestMain(m *testing.M) {
	if os.Getenv("KUBETOPO_BENCH_SIZES") == "" {
		// Not asked for: TestScaleBenchmark skips, nothing is built.
		os.Exit(m.Run())
	}
	binDir = os.Getenv("KUBETOPO_TESTBED_BIN")
	if binDir == "" {
		fmt.Fprintln(os.Stderr, "KUBETOPO_TESTBED_BIN is not set: run `make bench-scale` (hack/bench/run.sh), which builds the test cluster binaries (hack/testbed/build.sh) and sets it")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "kubetopo-bench-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin, profiledBin = filepath.Join(dir, "kubetopo-cluster-agent"), filepath.Join(dir, "kubetopo-cluster-agent-pprof")
	if err := buildAgents(dir); err != nil {
		fmt.Fprintln(os.Stderr, "building the cluster agent:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildAgents builds the shipped agent and, through an overlay that adds one
// file to its main package, a profiling build of the same code.
func buildAgents(dir string) error {
	const pkg = "github.com/kubetopo/kubetopo/cmd/kubetopo-cluster-agent"
	if err := goBuild(agentBin, pkg); err != nil {
		return err
	}
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", pkg).Output()
	if err != nil {
		return fmt.Errorf("go list %s: %w", pkg, err)
	}
	src, err := filepath.Abs("testdata/pprof_overlay.go.txt")
	if err != nil {
		return err
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {
		filepath.Join(string(out[:len(out)-1]), "zz_bench_pprof.go"): src,
	}})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return err
	}
	return goBuild(profiledBin, pkg, "-overlay="+overlayFile)
}

func goBuild(out, pkg string, flags ...string) error {
	args := append(append([]string{"build", "-o", out}, flags...), pkg)
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %v: %w", args, err)
	}
	return nil
}
