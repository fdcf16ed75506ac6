//go:build integration

package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

// TestPrometheusExampleConfig: deploy/prometheus/prometheus.yml is a valid configuration for
// Prometheus 3.15 (promtool3 from the testbed). --syntax-only: the credential files it names live
// on the Prometheus host, not here. (Debian's Prometheus 2.42 is built without Kubernetes service
// discovery, so it cannot load this file at all; docs/deploy.md says so.)
func TestPrometheusExampleConfig(t *testing.T) {
	out, err := exec.Command(filepath.Join(binDir, "promtool3"), "check", "config", "--syntax-only",
		filepath.Join(root, "deploy", "prometheus", "prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool3 check config: %v\n%s", err, out)
	}
}

// outsidePrometheus applies deploy/prometheus/rbac.yaml server-side, then runs a real Prometheus
// 3.15 with deploy/prometheus/prometheus.yml (only its addresses and file paths replaced) outside
// the cluster: it must discover every annotated pod of the chart through the apiserver with that
// ServiceAccount's token, scrape each through the apiserver's pod proxy without its authorizer
// refusing it (kwok pods have no network: what answers past RBAC is the apiserver failing to
// reach the pod, or in this sandbox an egress proxy denying the pod IP), and
// remote-write its samples (up, scrape_*) to the chart's receiver with the apiKey, accepted.
func outsidePrometheus(t *testing.T, ctx context.Context, c *testbed.Cluster, cfg *rest.Config, client kubernetes.Interface, creds string) {
	t.Helper()
	applyFile(t, ctx, cfg, filepath.Join(root, "deploy", "prometheus", "rbac.yaml"))
	var token []byte
	poll(t, time.Minute, "the token controller fills prometheus-external-token", func() (bool, string) {
		s, err := client.CoreV1().Secrets(namespace).Get(ctx, "prometheus-external-token", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		token = s.Data["token"]
		return len(token) > 0, "no token yet"
	})
	dir := t.TempDir()
	files := filepath.Join(dir, "kubetopo")
	if err := os.MkdirAll(files, 0o700); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(creds, "api-key"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"token": token, "ca.crt": ca, "api-key": key} {
		if err := os.WriteFile(filepath.Join(files, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rcv := startChartReceiver(t, ctx, client, creds)
	example, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	apiserver := strings.TrimPrefix(c.Server(), "https://")
	config := strings.NewReplacer(
		"https://kubernetes.example.com:6443", c.Server(),
		"kubernetes.example.com:6443", apiserver,
		"https://kubetopo.example.com/api/v1/write", rcv.url+"/api/v1/write",
		"/etc/prometheus/kubetopo/", files+"/",
		"scrape_interval: 30s", "scrape_interval: 2s",
	).Replace(string(example))
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	prom, err := testbed.StartPrometheusBinary(pctx, filepath.Join(binDir, testbed.Prometheus3), filepath.Join(dir, "prometheus"), config)
	if err != nil {
		t.Fatalf("Prometheus 3 with the example config: %v", err)
	}
	t.Cleanup(func() { _ = prom.Stop() })

	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: instanceSelector})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range pods.Items {
		if p.Annotations["prometheus.io/scrape"] == "true" {
			want[fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s:%s/proxy%s", c.Server(), namespace, p.Name,
				p.Annotations["prometheus.io/port"], p.Annotations["prometheus.io/path"])] = true
		}
	}
	if len(want) < 5 {
		t.Fatalf("only %d annotated pods of the release", len(want))
	}
	checked := map[string]bool{}
	poll(t, 90*time.Second, "Prometheus discovers and scrapes every annotated pod through the apiserver", func() (bool, string) {
		var resp struct {
			Data struct {
				ActiveTargets []struct {
					ScrapeURL string `json:"scrapeUrl"`
					LastError string `json:"lastError"`
					Health    string `json:"health"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		code, body := get(prom.URL + "/api/v1/targets")
		if code != http.StatusOK || json.Unmarshal([]byte(body), &resp) != nil {
			return false, body
		}
		got := map[string]bool{}
		var states []string
		for _, tg := range resp.Data.ActiveTargets {
			got[tg.ScrapeURL] = tg.Health != "unknown"
			states = append(states, tg.ScrapeURL+" "+tg.Health+" "+tg.LastError)
			if (strings.Contains(tg.LastError, "403") || strings.Contains(tg.LastError, "401")) && !checked[tg.ScrapeURL] {
				// Refused by the apiserver's authorizer (a Kubernetes Status), or past it by
				// whatever stands between the apiserver and the pod (here: an egress proxy
				// that denies the kwok pod IPs)? Ask once with the same token.
				if body := fetchWithToken(t, c, tg.ScrapeURL, token); strings.Contains(body, `"kind":"Status"`) {
					t.Fatalf("the apiserver refused the example Prometheus's scrape of %s: %s", tg.ScrapeURL, body)
				}
				checked[tg.ScrapeURL] = true
			}
		}
		for u := range want {
			if !got[u] {
				return false, fmt.Sprintf("not (yet) scraped: %s\ntargets:\n%s", u, strings.Join(states, "\n"))
			}
		}
		if len(got) != len(want) {
			return false, "targets beyond the annotated pods:\n" + strings.Join(states, "\n")
		}
		return true, ""
	})
	poll(t, 60*time.Second, "the example's remote_write accepted by the chart's receiver with the apiKey", func() (bool, string) {
		_, m := get(rcv.url + "/metrics")
		if n := sumSeries(m, "kubetopo_receiver_rejected_requests_total", `reason="unauthorized"`); n > 0 {
			t.Fatalf("the receiver refused %v writes of the example Prometheus as unauthorized", n)
		}
		ok := sumSeries(m, "kubetopo_receiver_requests_total", `code="204"`) + sumSeries(m, "kubetopo_receiver_requests_total", `code="200"`)
		return ok > 0, "no accepted write yet:\n" + prom.LogTail(10)
	})
}

// fetchWithToken GETs url from the apiserver with a bearer token, for failure messages.
func fetchWithToken(t *testing.T, c *testbed.Cluster, url string, token []byte) string {
	cfg := &rest.Config{Host: c.Server(), BearerToken: string(token), TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile}}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err.Error()
	}
	resp, err := hc.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	return resp.Status + " " + string(b)
}

// applyFile applies every object of a YAML file server-side, as `kubectl apply --server-side`.
func applyFile(t *testing.T, ctx context.Context, cfg *rest.Config, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	applyYAML(t, ctx, cfg, string(b), path)
}

func discoveryFor(cfg *rest.Config) discovery.DiscoveryInterface {
	return discovery.NewDiscoveryClientForConfigOrDie(cfg)
}

// applyYAML applies every object of a YAML stream server-side.
func applyYAML(t *testing.T, ctx context.Context, cfg *rest.Config, manifest, path string) {
	t.Helper()
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discoveryFor(cfg)))
	dyn := dynamic.NewForConfigOrDie(cfg)
	for _, o := range decodeObjects(t, manifest) {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "kubetopo-test", Force: true}); err != nil {
			t.Fatalf("applying %s %s from %s: %v", gvk.Kind, o.GetName(), path, err)
		}
	}
}
