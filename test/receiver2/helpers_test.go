//go:build integration

package receiver2

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// startAgent runs the real cluster agent binary; it returns its address.
func startAgent(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	addr := testenv.FreeAddr(t)
	p := testenv.StartProcess(t, testenv.ProcessOptions{
		Name: "agent",
		Path: testenv.Binary(agentName),
		Args: append([]string{"--kubeconfig=" + kubeconfig, "--web.listen-address=" + addr}, args...),
	})
	testenv.WaitReady(t, p, "http://"+addr, 30*time.Second)
	return addr
}

func startPrometheus(t *testing.T, name, config string, flags ...string) *testbed.Prometheus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := testbed.StartPrometheus(ctx, testenv.BinDir(), filepath.Join(t.TempDir(), name), config, flags...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.LogTail(30))
		}
		_ = p.Stop()
	})
	return p
}

// api is a client of the receiver's topology API.
type api struct {
	base, key string
}

// get fetches path into out (the "data" of the envelope); it returns the
// HTTP status and, when it is not 200, the body.
func (a api) get(path string, out any) (int, string) {
	req, err := http.NewRequest(http.MethodGet, a.base+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	if a.key != "" {
		req.SetBasicAuth("apikey", a.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, string(b)
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return resp.StatusCode, fmt.Sprintf("%v: %s", err, b)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return resp.StatusCode, fmt.Sprintf("%v: %s", err, env.Data)
		}
	}
	return 200, ""
}

type summary struct {
	URN   string `json:"urn"`
	Type  string `json:"type"`
	State string `json:"health_state"`
}

type actionAnswer struct {
	Time       time.Time `json:"time"`
	Live       bool      `json:"live"`
	Components []summary `json:"components"`
	Relations  []struct {
		Type   string `json:"type"`
		Source string `json:"source_urn"`
		Target string `json:"target_urn"`
	} `json:"relations"`
}

func (a actionAnswer) urns() []string {
	var out []string
	for _, c := range a.Components {
		out = append(out, c.URN)
	}
	sort.Strings(out)
	return out
}

func (a actionAnswer) rels() []string {
	var out []string
	for _, r := range a.Relations {
		out = append(out, r.Type+" "+r.Source+" -> "+r.Target)
	}
	sort.Strings(out)
	return out
}

// action asks for a component action, now (at = zero) or at a past time.
func (a api) action(t *testing.T, urn, action string, at time.Time) actionAnswer {
	t.Helper()
	ans, err := a.tryAction(urn, action, at)
	if err != "" {
		t.Fatal(err)
	}
	return ans
}

// tryAction is action for polling: it reports a failure instead of failing.
func (a api) tryAction(urn, action string, at time.Time) (actionAnswer, string) {
	p := "/api/v1/components/" + url.PathEscape(urn) + "/actions/" + action
	if !at.IsZero() {
		p += "?time=" + strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	}
	var ans actionAnswer
	if code, body := a.get(p, &ans); code != 200 {
		return ans, fmt.Sprintf("GET %s: %d %s", p, code, body)
	}
	return ans, ""
}

func (a api) state(urn string) (string, string) {
	var d struct {
		Health struct {
			State string `json:"state"`
		} `json:"health"`
	}
	code, body := a.get("/api/v1/components/"+url.PathEscape(urn), &d)
	if code != 200 {
		return "", fmt.Sprintf("%d %s", code, body)
	}
	return d.Health.State, ""
}

func same(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
