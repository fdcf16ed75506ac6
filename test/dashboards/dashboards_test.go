//go:build integration

package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubetopo/kubetopo/dashboards"
	"github.com/kubetopo/kubetopo/internal/standin"
	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const e2eCluster = "e2e"

// Grafana's built-in intervals, as a dashboard's default last hour gives them.
const (
	testRange        = "1h"
	testRateInterval = "1m"
)

// preferred are the values the test picks for variables; each must be among
// the values the variable's own query returns.
var preferred = map[string]string{
	"cluster":   e2eCluster,
	"namespace": platformNS,
	"workload":  "web-default",
	"pod":       "postgres-0",
	"node":      "kwok-node-0",
	"urn":       "urn:kubernetes:/" + e2eCluster + ":platform:deployment/web-default",
}

// mayBeEmpty are the panels whose data source the e2e cluster does not have,
// keyed by dashboard uid and panel title, with the reason. Every other panel
// must return data.
var mayBeEmpty = map[string]string{}

func init() {
	receiver := "kubetopo_component_health_state comes from kubetopo's receiver, which the e2e cluster does not run"
	for _, k := range []string{
		"kubetopo-applications/Health state (receiver)", "kubetopo-infrastructure/Health state (receiver)",
		"kubetopo-workload/Health state (receiver)", "kubetopo-pod/Health state (receiver)", "kubetopo-node/Health state (receiver)",
		"kubetopo-namespace/Health state (receiver)", "kubetopo-dependencies/Health state of the reached components (receiver)",
	} {
		mayBeEmpty[k] = receiver
	}
	kubelet := "kwok nodes have no kubelet, so there are no kubelet_* series (the node agent republishes them in a real cluster)"
	mayBeEmpty["kubetopo-infrastructure/Volume usage (kubelet)"] = kubelet
	mayBeEmpty["kubetopo-node/Running pods and containers (kubelet)"] = kubelet
	cadvisor := "kwok nodes run no containers and have no cAdvisor, so there are no container_* usage series"
	for _, k := range []string{"kubetopo-workload/CPU usage (cAdvisor)", "kubetopo-workload/Memory working set (cAdvisor)",
		"kubetopo-pod/CPU usage (cAdvisor)", "kubetopo-pod/Memory working set (cAdvisor)"} {
		mayBeEmpty[k] = cadvisor
	}
	mayBeEmpty["kubetopo-node/Attached persistent volumes"] = "no VolumeAttachment exists: the fixture's PVs are hostPath and NFS, which are not attached"
	mayBeEmpty["kubetopo-pod/Container states: waiting and terminated reasons"] = "postgres-0's containers run; kube-state-metrics exports reasons only for waiting or terminated containers"
}

func prometheusConfig(agent, ksm string, ruleFiles []string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: kubetopo-cluster-agent
    static_configs:
      - targets: ['%s']
  - job_name: kube-state-metrics
    static_configs:
      - targets: ['%s']
        labels:
          cluster: %s
`, strings.Join(ruleFiles, ", "), agent, ksm, e2eCluster)
}

type server struct {
	name string
	prom *testbed.Prometheus
}

func startPrometheus(t *testing.T, bin, config string) *testbed.Prometheus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := testbed.StartPrometheusBinary(ctx, filepath.Join(testenv.BinDir(), bin), filepath.Join(t.TempDir(), bin), config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}

func query(t *testing.T, p *testbed.Prometheus, q string) ([]testbed.Sample, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.Query(ctx, q)
}

func TestDashboardQueriesOnRealPrometheus(t *testing.T) {
	cluster, cfg := startCluster(t)
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	agent := startAgent(t, cluster.Kubeconfig(), e2eCluster)
	ksm, err := standin.Start(standin.Options{Pages: map[string][]byte{"/metrics": nil}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ksm.Close() })
	rules, err := filepath.Glob("../../rules/kubetopo-*.rules.yml")
	if err != nil || len(rules) != 2 {
		t.Fatalf("rule files: %v %v", rules, err)
	}
	for i, r := range rules {
		if rules[i], err = filepath.Abs(r); err != nil {
			t.Fatal(err)
		}
	}
	// Both servers scrape from the start, so they see the events of the
	// application's creation happen.
	config := prometheusConfig(agent, strings.TrimPrefix(ksm.URL, "http://"), rules)
	servers := []server{
		{"prometheus-2.42", startPrometheus(t, testbed.Prometheus2, config)},
		{"prometheus-3.15", startPrometheus(t, testbed.Prometheus3, config)},
	}

	applyManifest(t, ctx, cfg, platformFixture)
	waitForPlatform(t, ctx, client)
	ksm.SetPage("/metrics", ksmPage(t, ctx, client))

	want := expectedOwners(t, ctx, client)
	for _, s := range servers {
		waitForRecords(t, s, want)
		checkRuleHealth(t, s)
	}

	t.Run("no alert on the healthy application", func(t *testing.T) {
		// Alerts evaluated before the kube-state-metrics page was served
		// (no pod ready yet) clear at the next evaluation; a false positive
		// stays.
		for _, s := range servers {
			testenv.Eventually(t, 30*time.Second, s.name+": no kubetopo alert pending or firing", func() (bool, string) {
				res, err := query(t, s.prom, `ALERTS`)
				if err != nil {
					return false, err.Error()
				}
				var active []string
				for _, r := range res {
					active = append(active, fmt.Sprintf("%s %s %v", r.Metric["alertname"], r.Metric["alertstate"], r.Metric))
				}
				return len(active) == 0, strings.Join(active, "\n")
			})
		}
	})

	t.Run("dependencies reach six levels deep", func(t *testing.T) {
		checkDependencies(t, servers)
	})

	ds, err := dashboards.Load(dashboards.FS())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			for _, d := range ds {
				t.Run(d.UID, func(t *testing.T) { runDashboard(t, s.prom, d) })
			}
		})
	}

	t.Run("a Service that selects no pod goes pending", func(t *testing.T) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: "orphan"}, Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "nothing-has-this-label"}, Ports: []corev1.ServicePort{{Port: 80}}}}
		if _, err := client.CoreV1().Services(platformNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, s := range servers {
			testenv.Eventually(t, time.Minute, s.name+": KubeServiceWithoutEndpoints pending for platform/orphan", func() (bool, string) {
				res, err := query(t, s.prom, `ALERTS{alertname="KubeServiceWithoutEndpoints", alertstate="pending", service="orphan", urn="urn:kubernetes:/e2e:platform:service/orphan", severity="warning"}`)
				if err != nil {
					return false, err.Error()
				}
				return len(res) == 1, fmt.Sprintf("%d alerts", len(res))
			})
			res, err := query(t, s.prom, `ALERTS{alertname="KubeServiceWithoutEndpoints", service!="orphan"}`)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				t.Errorf("%s: KubeServiceWithoutEndpoints for a Service with ready pods: %v", s.name, r.Metric)
			}
		}
	})
}

// checkDependencies runs the downstream query of "Show dependencies (deep)"
// from Deployment web-default and checks it walks the whole chain:
// deployment → replicaset → pod → container/node/config → … → cluster.
func checkDependencies(t *testing.T, servers []server) {
	ds, err := dashboards.Load(dashboards.FS())
	if err != nil {
		t.Fatal(err)
	}
	var expr string
	for _, d := range ds {
		for _, p := range d.Panels {
			if d.UID == "kubetopo-dependencies" && strings.HasPrefix(p.Title, "Depends on") {
				expr = p.Targets[0].Expr
			}
		}
	}
	if expr == "" {
		t.Fatal("no downstream panel in kubetopo-dependencies")
	}
	expr = dashboards.Substitute(expr, map[string]string{"cluster": e2eCluster, "urn": preferred["urn"]}, testRange)
	for _, s := range servers {
		res, err := query(t, s.prom, expr)
		if err != nil {
			t.Fatal(err)
		}
		levels := map[string]map[string]bool{}
		for _, r := range res {
			if levels[r.Metric["level"]] == nil {
				levels[r.Metric["level"]] = map[string]bool{}
			}
			levels[r.Metric["level"]][r.Metric["type"]] = true
		}
		for level, typ := range map[string]string{"1": "controls", "2": "controls", "3": "scheduled_on", "4": "belongs_to"} {
			if !levels[level][typ] {
				t.Errorf("%s: no %s relation at level %s downstream of web-default; levels: %v", s.name, typ, level, levels)
			}
		}
		t.Logf("%s: %d relations downstream of web-default, by level: %v", s.name, len(res), levels)
	}
}

// expectedOwners is, from the apiserver, each platform pod's workload as
// namespace_workload_pod:kubetopo_pod_owner:relabel must give it.
func expectedOwners(t *testing.T, ctx context.Context, c kubernetes.Interface) map[string]string {
	t.Helper()
	owner := map[string]string{} // ReplicaSet/Job → its owner "kind/name"
	rss, err := c.AppsV1().ReplicaSets(platformNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss.Items {
		for _, o := range rs.OwnerReferences {
			owner["ReplicaSet/"+rs.Name] = "deployment/" + o.Name
		}
	}
	jobs, err := c.BatchV1().Jobs(platformNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		for _, o := range j.OwnerReferences {
			owner["Job/"+j.Name] = "cronjob/" + o.Name
		}
	}
	pods, err := c.CoreV1().Pods(platformNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, p := range pods.Items {
		want[p.Name] = "pod/" + p.Name
		for _, o := range p.OwnerReferences {
			if w, ok := owner[o.Kind+"/"+o.Name]; ok {
				want[p.Name] = w
			} else {
				want[p.Name] = strings.ToLower(o.Kind) + "/" + o.Name
			}
		}
	}
	return want
}

// waitForRecords waits until the recording rules give every platform pod
// its workload, as the apiserver says, and every workload its replicas.
func waitForRecords(t *testing.T, s server, want map[string]string) {
	t.Helper()
	testenv.Eventually(t, 2*time.Minute, s.name+": recording rules give every pod its workload", func() (bool, string) {
		res, err := query(t, s.prom, `namespace_workload_pod:kubetopo_pod_owner:relabel{cluster="e2e", namespace="platform"}`)
		if err != nil {
			return false, err.Error()
		}
		got := map[string]string{}
		for _, r := range res {
			got[r.Metric["pod"]] = r.Metric["workload_type"] + "/" + r.Metric["workload"]
			if w := "urn:kubernetes:/e2e:platform:" + got[r.Metric["pod"]]; r.Metric["urn"] != w {
				return false, fmt.Sprintf("pod %s: urn %s, want %s", r.Metric["pod"], r.Metric["urn"], w)
			}
		}
		return fmt.Sprint(sortedMap(got)) == fmt.Sprint(sortedMap(want)), fmt.Sprintf("got  %v\nwant %v", sortedMap(got), sortedMap(want))
	})
	testenv.Eventually(t, time.Minute, s.name+": restarts per workload recorded (needs two KSM samples)", func() (bool, string) {
		res, err := query(t, s.prom, `namespace_workload:kube_pod_container_status_restarts:increase10m{cluster="e2e", namespace="platform"}`)
		if err != nil {
			return false, err.Error()
		}
		return len(res) > 0, "no namespace_workload:kube_pod_container_status_restarts:increase10m yet"
	})
	testenv.Eventually(t, time.Minute, s.name+": unified replicas of every workload kind", func() (bool, string) {
		res, err := query(t, s.prom, `namespace_workload:kubetopo_replicas_ready:relabel{cluster="e2e", namespace="platform"}`)
		if err != nil {
			return false, err.Error()
		}
		var got []string
		for _, r := range res {
			got = append(got, fmt.Sprintf("%s/%s=%v", r.Metric["workload_type"], r.Metric["workload"], r.Value))
		}
		sort.Strings(got)
		s := strings.Join(got, " ")
		ok := strings.Contains(s, "deployment/web-default=2") && strings.Contains(s, "statefulset/postgres=3") &&
			strings.Contains(s, "daemonset/log-agent=3") && strings.Contains(s, "replicaset/web-default-")
		return ok, s
	})
}

// checkRuleHealth fails on any kubetopo rule whose last evaluation failed.
func checkRuleHealth(t *testing.T, s server) {
	t.Helper()
	resp, err := http.Get(s.prom.URL + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range body.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health == "err" {
				t.Errorf("%s: rule %s in %s fails: %s", s.name, r.Name, g.Name, r.LastError)
			}
		}
	}
	if n < 40 {
		t.Errorf("%s: %d rules loaded, want kubetopo's recording and alerting rules", s.name, n)
	}
}

func sortedMap(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"→"+v)
	}
	sort.Strings(out)
	return out
}

// runDashboard resolves the dashboard's variables from their own queries,
// then runs every panel query and fails on errors and on empty results
// where data must exist.
func runDashboard(t *testing.T, p *testbed.Prometheus, d dashboards.Dashboard) {
	values := map[string]string{"datasource": "prometheus"}
	for _, v := range d.Vars {
		if v.Type != "query" {
			continue
		}
		sel, label, err := dashboards.LabelValuesQuery(v.Query)
		if err != nil {
			t.Fatal(err)
		}
		q := fmt.Sprintf("count by (%s) (%s)", label, dashboards.Substitute(sel, values, testRange))
		res, err := query(t, p, q)
		if err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		var options []string
		for _, r := range res {
			if r.Metric[label] != "" {
				options = append(options, r.Metric[label])
			}
		}
		sort.Strings(options)
		if len(options) == 0 {
			t.Fatalf("variable %s has no values: %s", v.Name, q)
		}
		switch {
		case v.Hidden:
			if len(options) != 1 {
				t.Fatalf("hidden variable %s derives %d values, want exactly one: %v", v.Name, len(options), options)
			}
			values[v.Name] = options[0]
		case v.IncludeAll:
			values[v.Name] = ".*"
		default:
			values[v.Name] = options[0]
			if want, ok := preferred[v.Name]; ok {
				if !contains(options, want) {
					t.Fatalf("variable %s: %q is not among its values %v", v.Name, want, options)
				}
				values[v.Name] = want
			}
		}
	}
	t.Logf("variables: %v", values)
	for _, panel := range d.Panels {
		key := d.UID + "/" + panel.Title
		var total int
		seen := map[string]bool{}
		for _, tg := range panel.Targets {
			expr := dashboards.Substitute(strings.ReplaceAll(tg.Expr, "$__rate_interval", testRateInterval), values, testRange)
			res, err := query(t, p, expr)
			if err != nil {
				t.Errorf("panel %q query %s fails: %v", panel.Title, tg.RefID, err)
				continue
			}
			total += len(res)
			for _, r := range res {
				for l := range r.Metric {
					seen[l] = true
				}
			}
		}
		reason, optional := mayBeEmpty[key]
		switch {
		case total == 0 && !optional:
			t.Errorf("panel %q returns nothing where data must exist (variables %v)", panel.Title, values)
		case total == 0:
			t.Logf("panel %q empty, as allowed: %s", panel.Title, reason)
		}
		if total > 0 && panel.Type == "table" {
			for _, col := range panel.LinkColumns {
				if col != "" && !seen[col] {
					t.Errorf("panel %q links column %q, which none of its queries returns", panel.Title, col)
				}
			}
		}
	}
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
