//go:build integration

package events

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// A bad override file, or a missing API key file, stops the agent at start
// with exit code 2 and an error naming the flag, the file and the line.
func TestBadEventFlagsExit(t *testing.T) {
	bad, err := filepath.Abs("../../internal/events/testdata/overrides/bad-category.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"bad override file", []string{"--events.category-overrides=" + bad},
			[]string{"--events.category-overrides", "bad-category.yaml", "line 2", `reason \"BackOff\"`, `unknown category \"Alert\"`}},
		{"missing override file", []string{"--events.category-overrides=/nonexistent/overrides.yaml"},
			[]string{"--events.category-overrides", "no such file"}},
		{"missing API key file", []string{"--remote-write.url=http://127.0.0.1:1/api/v1/write", "--remote-write.api-key-file=/nonexistent/key"},
			[]string{"--remote-write.api-key-file", "no such file"}},
		{"topology push without URL", []string{"--remote-write.topology"}, []string{"--remote-write.topology needs --remote-write.url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(testenv.Binary(agentName), append([]string{"--cluster.name=x", "--kubeconfig=/nonexistent/kubeconfig", "--web.listen-address=127.0.0.1:0"}, tt.args...)...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("exit: %v, want code 2; output:\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
