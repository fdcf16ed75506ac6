//go:build integration

package testbed

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// startCluster starts a cluster from $KUBETOPO_TESTBED_BIN and stops it when the test ends,
// checking that no recorded process is left.
func startCluster(t *testing.T, ctx context.Context, opts Options) *Cluster {
	t.Helper()
	bin := os.Getenv("KUBETOPO_TESTBED_BIN")
	if bin == "" {
		t.Fatal("KUBETOPO_TESTBED_BIN is not set: run BIN=$(hack/testbed/build.sh | tail -1) and pass KUBETOPO_TESTBED_BIN=$BIN")
	}
	opts.BinDir = bin
	opts.StateDir = t.TempDir()
	opts.Logf = t.Logf
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range c.Components() {
				t.Logf("---- %s log tail:\n%s", name, c.LogTail(name, 20))
			}
		}
		pids := map[string]int{}
		for _, name := range c.Components() {
			pids[name] = readPidFile(c.StateDir, name)
		}
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := c.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		for name, pid := range pids {
			if pidAlive(pid) {
				t.Errorf("%s (pid %d) still runs after Stop", name, pid)
			}
		}
	})
	return c
}

func TestAPIServerRestartKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := startCluster(t, ctx, Options{})

	ns := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "restart-check"}}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/namespaces", ns, nil); err != nil {
		t.Fatal(err)
	}
	var version struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := c.Do(ctx, http.MethodGet, "/version", nil, &version); err != nil {
		t.Fatal(err)
	}
	if version.GitVersion != "v1.33.13" {
		t.Errorf("apiserver reports version %q, want v1.33.13", version.GitVersion)
	}

	server := c.Server()
	if err := c.StopComponent(APIServer); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, http.MethodGet, "/readyz", nil, nil); err == nil {
		t.Fatal("apiserver still answers after StopComponent")
	}
	if err := c.StartComponent(ctx, APIServer); err != nil {
		t.Fatal(err)
	}
	if c.Server() != server {
		t.Fatalf("server moved from %s to %s", server, c.Server())
	}
	var got struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/namespaces/restart-check", nil, &got); err != nil {
		t.Fatalf("namespace after apiserver restart: %v", err)
	}
	if got.Metadata.Name != "restart-check" {
		t.Fatalf("got namespace %q", got.Metadata.Name)
	}
	if err := c.Healthy(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestDeploymentOnKwokNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := startCluster(t, ctx, Options{Controllers: true, KwokNodes: 2})

	ns := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "demo"}}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/namespaces", ns, nil); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	deploy := map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": "web", "namespace": "demo"},
		"spec": map[string]any{
			"replicas": 2,
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{
					"containers": []any{map[string]any{"name": "web", "image": "registry.example/web:1"}},
				},
			},
		},
	}
	if err := c.Do(ctx, http.MethodPost, "/apis/apps/v1/namespaces/demo/deployments", deploy, nil); err != nil {
		t.Fatal(err)
	}

	path := "/api/v1/namespaces/demo/pods?labelSelector=" + url.QueryEscape("app=web")
	var last string
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		done, summary, err := podsReady(ctx, c, path, 2)
		if err != nil {
			summary = err.Error()
		}
		if done {
			t.Logf("pods ready: %s", summary)
			return
		}
		last = summary
		select {
		case <-ctx.Done():
			t.Fatalf("deployment pods not Running/Ready: %s", last)
		case <-tick.C:
		}
	}
}

// podsReady reports whether want pods are Running and Ready with a pod IP on a kwok node.
func podsReady(ctx context.Context, c *Cluster, path string, want int) (bool, string, error) {
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				NodeName string `json:"nodeName"`
			} `json:"spec"`
			Status struct {
				Phase      string `json:"phase"`
				PodIP      string `json:"podIP"`
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := c.Do(ctx, http.MethodGet, path, nil, &list); err != nil {
		return false, "", err
	}
	ready := 0
	var parts []string
	for _, p := range list.Items {
		isReady := false
		for _, cond := range p.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				isReady = true
			}
		}
		parts = append(parts, fmt.Sprintf("%s node=%q phase=%s ready=%t ip=%q", p.Metadata.Name, p.Spec.NodeName, p.Status.Phase, isReady, p.Status.PodIP))
		if p.Status.Phase == "Running" && isReady && p.Status.PodIP != "" && strings.HasPrefix(p.Spec.NodeName, "kwok-node-") {
			ready++
		}
	}
	return ready >= want, fmt.Sprintf("%d/%d ready: %s", ready, len(list.Items), strings.Join(parts, "; ")), nil
}
