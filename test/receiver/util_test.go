//go:build integration

package receiver

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// newCmd is a command in its own process group.
func newCmd(bin string, args ...string) *exec.Cmd {
	c := exec.Command(bin, args...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
