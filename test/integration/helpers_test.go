//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
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
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
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

type agentProc struct {
	url string
	log string
}

// startAgent runs the real cluster agent binary against the cluster. These
// suites prove the topology, so the control-plane view is off: it would add
// the apiserver's own ~16k series (and their promtool lint findings, which are
// the apiserver's, not kubetopo's) to every page; test/controlplane covers it.
func startAgent(t testing.TB, kubeconfig string, args ...string) *agentProc {
	t.Helper()
	port := freePort(t)
	logPath := filepath.Join(t.TempDir(), "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(agentBin, append([]string{
		"--kubeconfig=" + kubeconfig, "--web.listen-address=" + addr, "--log.level=debug",
		"--no-controlplane.enabled",
	}, args...)...)
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
	a := &agentProc{url: "http://" + addr, log: logPath}
	eventually(t, 30*time.Second, "agent ready", func() (bool, string) {
		select {
		case <-exited:
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

func (a *agentProc) logTail() string {
	b, _ := os.ReadFile(a.log)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func (a *agentProc) scrape(t testing.TB) string {
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

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// eventually polls cond until it holds or the deadline passes; then it fails
// with cond's last explanation.
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
		time.Sleep(50 * time.Millisecond) // poll interval, not synchronisation
	}
}

var uidLabel = regexp.MustCompile(`,uid="[^"]*"`)

// set is a set of exposition lines.
type set map[string]bool

// topologySet returns the topology series of an exposition, without uid
// labels (the apiserver assigns them).
func topologySet(exposition string) set {
	s := set{}
	for _, l := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(l, "kubetopo_component_info{") || strings.HasPrefix(l, "kubetopo_component_labels{") || strings.HasPrefix(l, "kubetopo_relation_info{") {
			s[uidLabel.ReplaceAllString(l, "")] = true
		}
	}
	return s
}

func (s set) clone() set {
	c := set{}
	for k := range s {
		c[k] = true
	}
	return c
}

// without removes the lines containing any of the substrings, returning them.
func (s set) without(subs ...string) set {
	removed := set{}
	for l := range s {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				removed[l] = true
				delete(s, l)
				break
			}
		}
	}
	return removed
}

// diff names what is missing from got and what got has that want lacks.
func diff(want, got set) string {
	var missing, unexpected []string
	for l := range want {
		if !got[l] {
			missing = append(missing, l)
		}
	}
	for l := range got {
		if !want[l] {
			unexpected = append(unexpected, l)
		}
	}
	if len(missing) == 0 && len(unexpected) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	var b strings.Builder
	fmt.Fprintf(&b, "%d missing series (expected, not published):\n", len(missing))
	for _, l := range missing {
		b.WriteString("  - " + l + "\n")
	}
	fmt.Fprintf(&b, "%d unexpected series (published, not expected):\n", len(unexpected))
	for _, l := range unexpected {
		b.WriteString("  + " + l + "\n")
	}
	return b.String()
}

// expectTopology waits until the agent publishes exactly want.
func expectTopology(t testing.TB, a *agentProc, want set) {
	t.Helper()
	eventually(t, 60*time.Second, "topology equals the expected set", func() (bool, string) {
		d := diff(want, topologySet(a.scrape(t)))
		return d == "", d + "\nagent log:\n" + a.logTail()
	})
}

// etcdDelete deletes a key in etcd behind the apiserver's back, and
// etcdCompact compacts history up to now, so a watch from before must relist.
func etcdDelete(t testing.TB, etcdURL, key string) {
	t.Helper()
	var out struct {
		Deleted string `json:"deleted"`
	}
	etcdCall(t, etcdURL+"/v3/kv/deleterange", map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key))}, &out)
	if out.Deleted != "1" {
		t.Fatalf("etcd delete %s: deleted %q keys, want 1", key, out.Deleted)
	}
}

func etcdCompact(t testing.TB, etcdURL string) {
	t.Helper()
	var rng struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	etcdCall(t, etcdURL+"/v3/kv/range", map[string]any{"key": base64.StdEncoding.EncodeToString([]byte("/")), "count_only": true}, &rng)
	etcdCall(t, etcdURL+"/v3/kv/compaction", map[string]any{"revision": rng.Header.Revision, "physical": true}, nil)
}

func etcdCall(t testing.TB, url string, in, out any) {
	t.Helper()
	body, _ := json.Marshal(in)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("etcd %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("etcd %s: %s %s", url, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("etcd %s: %v: %s", url, err, b)
		}
	}
}
