//go:build integration

package nodeagent

import (
	"context"
	"errors"
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

func startCluster(t testing.TB, opts testbed.Options) *testbed.Cluster {
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

func clientFor(t testing.TB, c *testbed.Cluster) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return kubernetes.NewForConfigOrDie(cfg)
}

// proc is a binary under test with its log.
type proc struct {
	name, url, log string
}

// startBinary runs bin with args plus --web.listen-address on a free port and
// waits until /-/ready answers 200.
func startBinary(t testing.TB, bin string, args ...string) *proc {
	t.Helper()
	return startBinaryAt(t, "127.0.0.1:"+strconv.Itoa(freePort(t)), bin, args...)
}

// startBinaryAt is startBinary on a given address.
func startBinaryAt(t testing.TB, addr, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(bin), url: "http://" + addr, log: filepath.Join(t.TempDir(), filepath.Base(bin)+".log")}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--web.listen-address=" + addr, "--log.level=debug"}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	eventually(t, 60*time.Second, p.name+" ready", func() (bool, string) {
		select {
		case <-exited:
			t.Fatalf("%s exited:\n%s", p.name, p.logTail())
		default:
		}
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return p
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

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

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
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

func query(t testing.TB, p *testbed.Prometheus, q string) []testbed.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := p.Query(ctx, q)
	if err != nil {
		t.Fatalf("PromQL %s: %v", q, err)
	}
	return s
}

// promtoolProblems runs the real `promtool check metrics` on an exposition
// and returns its findings; a parse error fails the test.
func promtoolProblems(t testing.TB, exposition []byte) map[string]bool {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "promtool"), "check", "metrics")
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
