//go:build integration

package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

type agentProc struct {
	url  string
	proc *testenv.Process
}

// startAgent runs the real cluster agent binary against the cluster. These
// suites prove the topology, so the control-plane view is off: it would add
// the apiserver's own ~16k series (and their promtool lint findings, which are
// the apiserver's, not kubetopo's) to every page; test/controlplane covers it.
func startAgent(t testing.TB, kubeconfig string, args ...string) *agentProc {
	t.Helper()
	addr := testenv.FreeAddr(t)
	p := testenv.StartProcess(t, testenv.ProcessOptions{
		Name: "agent",
		Path: testenv.Binary(agentName),
		Args: append([]string{
			"--kubeconfig=" + kubeconfig, "--web.listen-address=" + addr, "--log.level=debug",
			"--no-controlplane.enabled",
		}, args...),
	})
	a := &agentProc{url: "http://" + addr, proc: p}
	testenv.WaitReady(t, p, a.url, 30*time.Second)
	return a
}

func (a *agentProc) logTail() string { return a.proc.LogTail() }

func (a *agentProc) scrape(t testing.TB) string { return testenv.Scrape(t, a.url) }

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
	testenv.Eventually(t, 60*time.Second, "topology equals the expected set", func() (bool, string) {
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
