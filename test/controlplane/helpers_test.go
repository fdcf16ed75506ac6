//go:build integration

package controlplane

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

func startCluster(t *testing.T, opts testbed.Options) *testbed.Cluster {
	t.Helper()
	opts.BinDir = binDir
	opts.StateDir = t.TempDir()
	opts.Logf = t.Logf
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := testbed.Start(ctx, opts)
	if err != nil {
		t.Fatalf("starting the test cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the test cluster: %v", err)
		}
	})
	return c
}

type agentProc struct {
	url, log string
	exited   chan struct{}
}

// startAgent runs the real cluster agent binary and waits until it is ready.
func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logPath := filepath.Join(t.TempDir(), "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(agentBin, append([]string{"--web.listen-address=" + addr}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agentProc{url: "http://" + addr, log: logPath, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-a.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-a.exited
		}
		logFile.Close()
	})
	eventually(t, 30*time.Second, "agent ready", func() (bool, string) {
		a.mustRun(t)
		resp, err := http.Get(a.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return a
}

// mustRun fails the test when the agent exited.
func (a *agentProc) mustRun(t *testing.T) {
	t.Helper()
	select {
	case <-a.exited:
		t.Fatalf("the agent exited:\n%s", a.logTail())
	default:
	}
}

func (a *agentProc) logText() string {
	b, _ := os.ReadFile(a.log)
	return string(b)
}

func (a *agentProc) logTail() string {
	lines := strings.Split(a.logText(), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

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

// eventually polls cond until it holds or the deadline passes; then it fails
// with cond's last explanation.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s:\n%s", what, timeout, msg)
		}
		time.Sleep(50 * time.Millisecond) // poll interval, not synchronisation
	}
}
