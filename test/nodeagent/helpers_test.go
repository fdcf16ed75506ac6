//go:build integration

package nodeagent

import (
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// proc is a binary under test with its log.
type proc struct {
	name, url, log string
	process        *testenv.Process
}

// startBinary runs the named kubetopo binary with args plus
// --web.listen-address on a free port and waits until /-/ready answers 200.
func startBinary(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	return startBinaryAt(t, testenv.FreeAddr(t), name, args...)
}

// startBinaryAt is startBinary on a given address.
func startBinaryAt(t testing.TB, addr, name string, args ...string) *proc {
	t.Helper()
	process := testenv.StartProcess(t, testenv.ProcessOptions{
		Name: name,
		Path: testenv.Binary(name),
		Args: append([]string{"--web.listen-address=" + addr, "--log.level=debug"}, args...),
	})
	p := &proc{name: name, url: "http://" + addr, log: process.LogPath, process: process}
	testenv.WaitReady(t, process, p.url, 60*time.Second)
	return p
}

func (p *proc) logTail() string { return p.process.LogTail() }

func (p *proc) scrape(t testing.TB) []byte {
	t.Helper()
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatalf("scraping %s: %v", p.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scraping %s: %s %v", p.name, resp.Status, err)
	}
	return b
}

// promtoolProblems runs the real `promtool check metrics` on an exposition
// and returns its findings; a parse error fails the test.
func promtoolProblems(t testing.TB, exposition []byte) map[string]bool {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.BinDir(), "promtool"), "check", "metrics")
	cmd.Stdin = strings.NewReader(string(exposition))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 3) {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	m := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			m[l] = true
		}
	}
	return m
}
