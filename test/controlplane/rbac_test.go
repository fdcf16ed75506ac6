//go:build integration

package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

// controlPlaneRules are the ClusterRole rules docs/control-plane.md asks for,
// on top of the topology's.
var controlPlaneRules = []any{
	map[string]any{"nonResourceURLs": []string{"/metrics", "/readyz", "/livez"}, "verbs": []string{"get"}},
	map[string]any{"apiGroups": []string{""}, "resources": []string{"componentstatuses"}, "verbs": []string{"list"}},
}

// topologyRules grant what an agent with --resources=namespaces,configmaps
// watches: the topology's RBAC is docs/cluster-agent.md's business, kept
// small here so that this test is about the control plane's rules only.
var topologyRules = []any{
	map[string]any{"apiGroups": []string{""}, "resources": []string{"namespaces", "configmaps"}, "verbs": []string{"get", "list", "watch"}},
}

// testRBAC runs agents as ServiceAccounts with exactly the documented
// rules, and without the control plane's: the first reads everything, the
// second is refused where the rules are missing and says so in metrics.
func testRBAC(t *testing.T, c *testbed.Cluster, schedURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Discovery of kube-system's EndpointSlices as the docs say for an agent
	// that does not watch endpointslices for the topology: a Role there.
	mustDo(t, c, ctx, "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
		"metadata": map[string]any{"name": "kubetopo-controlplane-discovery"},
		"rules":    []any{map[string]any{"apiGroups": []string{"discovery.k8s.io"}, "resources": []string{"endpointslices"}, "verbs": []string{"list", "watch"}}},
	})
	for _, tc := range []struct {
		name  string
		rules []any
		// want: series line → value
		want map[string]float64
	}{
		{
			name:  "documented rules",
			rules: append(append([]any{}, topologyRules...), controlPlaneRules...),
			want: map[string]float64{
				`kubetopo_controlplane_probe_success{probe="readyz"}`:            1,
				`kubetopo_controlplane_probe_success{probe="livez"}`:             1,
				`kubetopo_controlplane_probe_success{probe="componentstatuses"}`: 1,
				`kubetopo_scrape_source_success{source="apiserver"}`:             1,
				// The scheduler authorises /metrics with a SubjectAccessReview
				// for the agent's token: the same nonResourceURLs rule.
				`kubetopo_scrape_source_success{source="scheduler/` + strings.TrimPrefix(schedURL, "https://") + `"}`: 1,
				`kubetopo_controlplane_targets{component="controller-manager"}`:                                       1,
			},
		},
		{
			name:  "topology rules only",
			rules: topologyRules,
			want: map[string]float64{
				// Still readable through system:public-info-viewer.
				`kubetopo_controlplane_probe_success{probe="readyz"}`:                                                 1,
				`kubetopo_controlplane_probe_success{probe="componentstatuses"}`:                                      0,
				`kubetopo_scrape_source_success{source="apiserver"}`:                                                  0,
				`kubetopo_scrape_source_failures_total{reason="http_status",source="apiserver"}`:                      -1, // present, any count
				`kubetopo_scrape_source_success{source="scheduler/` + strings.TrimPrefix(schedURL, "https://") + `"}`: 0,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa := "kubetopo-" + strings.ReplaceAll(tc.name, " ", "-")
			kubeconfig := serviceAccountKubeconfig(t, c, ctx, sa, tc.rules)
			a := startAgent(t, "--kubeconfig="+kubeconfig, "--cluster.name="+clusterName, "--log.level=info",
				"--resources=namespaces,configmaps",
				"--controlplane.interval=1s", "--controlplane.timeout=800ms",
				"--controlplane.component-url=scheduler="+schedURL,
				"--controlplane.components.insecure-skip-verify")
			for line, v := range tc.want {
				if v < 0 {
					expectTopology(t, a, line)
					continue
				}
				expect(t, a, line, v)
			}
		})
	}
}

func mustDo(t *testing.T, c *testbed.Cluster, ctx context.Context, path string, obj any) {
	t.Helper()
	if err := c.Do(ctx, http.MethodPost, path, obj, nil); err != nil {
		t.Fatal(err)
	}
}

// serviceAccountKubeconfig creates a ServiceAccount bound to a ClusterRole
// with rules, and returns a kubeconfig with a token for it.
func serviceAccountKubeconfig(t *testing.T, c *testbed.Cluster, ctx context.Context, name string, rules []any) string {
	t.Helper()
	mustDo(t, c, ctx, "/api/v1/namespaces/default/serviceaccounts", map[string]any{
		"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": name},
	})
	mustDo(t, c, ctx, "/apis/rbac.authorization.k8s.io/v1/clusterroles", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
		"metadata": map[string]any{"name": name}, "rules": rules,
	})
	subject := []any{map[string]any{"kind": "ServiceAccount", "name": name, "namespace": "default"}}
	mustDo(t, c, ctx, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": name},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
		"subjects": subject,
	})
	mustDo(t, c, ctx, "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
		"metadata": map[string]any{"name": name},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kubetopo-controlplane-discovery"},
		"subjects": subject,
	})
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/namespaces/default/serviceaccounts/"+name+"/token", map[string]any{
		"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": map[string]any{"expirationSeconds": 3600},
	}, &tr); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, certificate-authority: %q}
users:
- name: %s
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: %s}
current-context: test
`, c.Server(), c.CAFile, name, tr.Status.Token, name)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
