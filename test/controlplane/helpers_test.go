//go:build integration

package controlplane

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

type agentProc struct {
	url  string
	proc *testenv.Process
}

// startAgent runs the real cluster agent binary and waits until it is ready.
func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	addr := testenv.FreeAddr(t)
	p := testenv.StartProcess(t, testenv.ProcessOptions{
		Name: "agent",
		Path: testenv.Binary(agentName),
		Args: append([]string{"--web.listen-address=" + addr}, args...),
	})
	a := &agentProc{url: "http://" + addr, proc: p}
	testenv.WaitReady(t, p, a.url, 30*time.Second)
	return a
}

// mustRun fails the test when the agent exited.
func (a *agentProc) mustRun(t *testing.T) {
	t.Helper()
	select {
	case <-a.proc.Exited():
		t.Fatalf("the agent exited:\n%s", a.logTail())
	default:
	}
}

func (a *agentProc) logText() string {
	b, _ := os.ReadFile(a.proc.LogPath)
	return string(b)
}

func (a *agentProc) logTail() string { return a.proc.LogTail() }

func (a *agentProc) scrape(t *testing.T) string {
	t.Helper()
	a.mustRun(t)
	resp, err := http.Get(a.url + "/metrics")
	if err != nil {
		t.Fatalf("scraping the agent: %v\n%s", err, a.logTail())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scraping the agent: %s %v", resp.Status, err)
	}
	return string(b)
}

// series returns the value of every series of an exposition whose line starts
// with prefix (a metric name, or a name and the start of its labels).
func series(exposition, prefix string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(exposition))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}
