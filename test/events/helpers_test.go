//go:build integration

package events

import (
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

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

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

func clientFor(t *testing.T, c *testbed.Cluster) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return kubernetes.NewForConfigOrDie(cfg)
}

// agentProc is one run of the real cluster agent binary.
type agentProc struct {
	url    string
	log    string
	cmd    *exec.Cmd
	exited chan struct{}
}

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
	cmd := exec.Command(agentBin, append([]string{"--web.listen-address=" + addr, "--log.level=debug"}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agentProc{url: "http://" + addr, log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(a.exited) }()
	t.Cleanup(a.stop)
	eventually(t, 60*time.Second, "agent ready", func() (bool, string) {
		select {
		case <-a.exited:
			t.Fatalf("agent exited:\n%s", a.logTail())
		default:
		}
		resp, err := http.Get(a.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return a
}

// stop ends the agent with SIGTERM, as Kubernetes does, and waits for it.
func (a *agentProc) stop() {
	select {
	case <-a.exited:
		return
	default:
	}
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.exited:
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
}

func (a *agentProc) logTail() string {
	b, _ := os.ReadFile(a.log)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func (a *agentProc) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(a.url + "/metrics")
	if err != nil {
		t.Fatalf("scraping the agent: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scraping the agent: %s %v", resp.Status, err)
	}
	return string(b)
}

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
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
}
