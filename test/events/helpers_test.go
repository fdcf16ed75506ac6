//go:build integration

package events

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// agentProc is one run of the real cluster agent binary.
type agentProc struct {
	url  string
	log  string
	proc *testenv.Process
}

func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	addr := testenv.FreeAddr(t)
	p := testenv.StartProcess(t, testenv.ProcessOptions{
		Name:        "agent",
		Path:        testenv.Binary(agentName),
		Args:        append([]string{"--web.listen-address=" + addr, "--log.level=debug"}, args...),
		StopTimeout: 20 * time.Second,
	})
	a := &agentProc{url: "http://" + addr, log: p.LogPath, proc: p}
	testenv.WaitReady(t, p, a.url, 60*time.Second)
	return a
}

// stop ends the agent with SIGINT and waits for it.
func (a *agentProc) stop() { a.proc.Stop() }

func (a *agentProc) logTail() string { return a.proc.LogTail() }

func (a *agentProc) scrape(t *testing.T) string { return testenv.Scrape(t, a.url) }

// metricValue returns the value of the first exposition line that starts with
// the series' name and contains every given label pair.
func metricValue(exposition, name string, labels ...string) float64 {
	for _, l := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, lp := range labels {
			ok = ok && strings.Contains(l, lp)
		}
		if !ok {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			return v
		}
	}
	return 0
}
