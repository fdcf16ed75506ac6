//go:build integration

// Package rules runs the real promtool of both Prometheus generations the
// testbed provides (Debian's 2.42 and 3.15 built from the prometheus module)
// over every rule file and every rule unit test under rules/. Run it with
// `make integration` (or `make rules-test`), which sets KUBETOPO_TESTBED_BIN.
package rules

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// promtools are the binaries of hack/testbed/build.sh, by Prometheus version.
var promtools = []string{"promtool", "promtool3"}

func ruleFiles(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "rules", pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no files match rules/%s", pattern)
	}
	return files
}

func promtool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("KUBETOPO_TESTBED_BIN")
	if dir == "" {
		t.Fatal("KUBETOPO_TESTBED_BIN is not set: run `make integration` (or `make rules-test`), which builds the testbed binaries (hack/testbed/build.sh) and sets it")
	}
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing from the testbed (run hack/testbed/build.sh %s): %v", name, name, err)
	}
	return bin
}

func run(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	// promtool exits 0 on success; make sure it did check something.
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("%s %s reported no SUCCESS:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	files := ruleFiles(t, "*.yml")
	for _, name := range promtools {
		t.Run(name, func(t *testing.T) {
			run(t, promtool(t, name), append([]string{"check", "rules"}, files...)...)
		})
	}
}

func TestPromtoolTestRules(t *testing.T) {
	files := ruleFiles(t, filepath.Join("tests", "*.yml"))
	for _, name := range promtools {
		for _, f := range files {
			t.Run(name+"/"+filepath.Base(f), func(t *testing.T) {
				run(t, promtool(t, name), "test", "rules", f)
			})
		}
	}
}
