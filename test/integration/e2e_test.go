//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const e2eCluster = "e2e"

// prometheusConfig is the scrape configuration docs/cluster-agent.md tells
// users to use, with a short interval so the suite runs quickly, plus a
// stand-in for kube-state-metrics serving one KSM series per pod.
func prometheusConfig(agentAddr, ksmAddr string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: kubetopo-cluster-agent
    static_configs:
      - targets: ['%s']
  - job_name: kube-state-metrics
    static_configs:
      - targets: ['%s']
`, agentAddr, ksmAddr)
}

// ksmStandIn serves kube_pod_status_ready for every pod the apiserver holds,
// in kube-state-metrics' shape, so the documented join can be run for real.
func ksmStandIn(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pods, err := c.CoreV1().Pods("").List(r.Context(), metav1.ListOptions{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "# HELP kube_pod_status_ready Describes whether the pod is ready to serve requests.")
		fmt.Fprintln(w, "# TYPE kube_pod_status_ready gauge")
		for _, p := range pods.Items {
			fmt.Fprintf(w, "kube_pod_status_ready{namespace=%q,pod=%q,uid=%q,condition=\"true\"} 1\n", p.Namespace, p.Name, p.UID)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

func startPrometheus(t *testing.T, config string) *testbed.Prometheus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := testbed.StartPrometheus(ctx, testenv.BinDir(), filepath.Join(t.TempDir(), "prometheus"), config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}

// scrapedTopology is the topology as the real Prometheus has it now.
func scrapedTopology(t *testing.T, p *testbed.Prometheus) (map[string]string, set) {
	comps := map[string]string{}
	for _, s := range testenv.Query(t, p, fmt.Sprintf(`kubetopo_component_info{cluster=%q}`, e2eCluster)) {
		comps[s.Metric["urn"]] = s.Metric["type"]
	}
	rels := set{}
	for _, s := range testenv.Query(t, p, fmt.Sprintf(`kubetopo_relation_info{cluster=%q}`, e2eCluster)) {
		m := s.Metric
		var attrs []string
		if m["type"] == "mounts" {
			attrs = []string{"mount_path=" + m["mount_path"], "read_only=" + m["read_only"]}
		}
		rels[relKey(m["type"], m["source_urn"], m["target_urn"], attrs...)] = true
	}
	return comps, rels
}

// compareTopology names every missing or unexpected component and relation.
func compareTopology(want *oracle, comps map[string]string, rels set) string {
	var b strings.Builder
	var lines []string
	for urn, typ := range want.comps {
		if got, ok := comps[urn]; !ok {
			lines = append(lines, fmt.Sprintf("  missing component %s (%s)", urn, typ))
		} else if got != typ {
			lines = append(lines, fmt.Sprintf("  component %s has type %s, want %s", urn, got, typ))
		}
	}
	for urn, typ := range comps {
		if _, ok := want.comps[urn]; !ok {
			lines = append(lines, fmt.Sprintf("  unexpected component %s (%s)", urn, typ))
		}
	}
	for r := range want.rels {
		if !rels[r] {
			lines = append(lines, "  missing relation "+r)
		}
	}
	for r := range rels {
		if !want.rels[r] {
			lines = append(lines, "  unexpected relation "+r)
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// expectScraped waits until what Prometheus has equals the oracle's topology
// of what the apiserver holds (both are re-read on every attempt).
func expectScraped(t *testing.T, ctx context.Context, c kubernetes.Interface, p *testbed.Prometheus) *oracle {
	t.Helper()
	var want *oracle
	testenv.Eventually(t, 2*time.Minute, "the topology in Prometheus equals the apiserver's objects", func() (bool, string) {
		want = expectedTopology(t, ctx, c, e2eCluster)
		comps, rels := scrapedTopology(t, p)
		d := compareTopology(want, comps, rels)
		return d == "", fmt.Sprintf("%d components and %d relations expected; differences:\n%s", len(want.comps), len(want.rels), d)
	})
	return want
}

func TestEndToEnd(t *testing.T) {
	cluster := testenv.StartCluster(t, testbed.Options{Controllers: true, KwokNodes: 3})
	client := testenv.Client(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	agent := startAgent(t, cluster.Kubeconfig(), "--cluster.name="+e2eCluster)
	prom := startPrometheus(t, prometheusConfig(strings.TrimPrefix(agent.url, "http://"), ksmStandIn(t, client)))

	applyScenario(t, ctx, client, e2eApp())
	waitForControllers(t, ctx, client)

	if !t.Run("every object is a component, every relation is there, nothing else", func(t *testing.T) {
		want := expectScraped(t, ctx, client, prom)
		types := map[string]int{}
		for _, typ := range want.comps {
			types[typ]++
		}
		t.Logf("%d components %v, %d relations", len(want.comps), types, len(want.rels))
	}) {
		return
	}

	t.Run("no dangling relations", func(t *testing.T) {
		for _, end := range []string{"source_urn", "target_urn"} {
			q := fmt.Sprintf(`kubetopo_relation_info unless on (%[1]s) label_replace(kubetopo_component_info, "%[1]s", "$1", "urn", "(.*)")`, end)
			if got := testenv.Query(t, prom, q); len(got) != 0 {
				t.Errorf("%d relations whose %s is no component, e.g. %v", len(got), end, got[0].Metric)
			}
		}
	})

	t.Run("the documented queries answer right", func(t *testing.T) {
		// The pods of a Deployment through its ReplicaSets (README).
		q := `kubetopo_relation_info{type="controls", source_type="replicaset", target_type="pod"}
  * on (source_urn) group_left ()
    label_replace(
      kubetopo_relation_info{type="controls", source_urn="urn:kubernetes:/e2e:e2e-shop:deployment/web"},
      "source_urn", "$1", "target_urn", "(.*)")`
		var got []string
		for _, s := range testenv.Query(t, prom, q) {
			got = append(got, s.Metric["target_urn"])
		}
		want := podsOf(t, ctx, client, shopNS, "app=web")
		if strings.Join(sorted(got), "\n") != strings.Join(want, "\n") {
			t.Errorf("pods of deployment web:\n got %v\nwant %v", sorted(got), want)
		}

		// A kube-state-metrics series joined to its component URN (README).
		// The CronJob keeps creating pods, so the join is compared with the
		// apiserver until both agree (a pod made between a scrape and the
		// list is not a failure; a join that never matches is).
		join := `kube_pod_status_ready{condition="true"} * on (namespace, pod) group_left (urn) kubetopo_component_info{type="pod"}`
		testenv.Eventually(t, time.Minute, "the KSM join gives every pod its URN", func() (bool, string) {
			res := testenv.Query(t, prom, join)
			var got []string
			for _, s := range res {
				if want := "urn:kubernetes:/e2e:" + s.Metric["namespace"] + ":pod/" + s.Metric["pod"]; s.Metric["urn"] != want {
					return false, fmt.Sprintf("join gave urn %s for %s/%s, want %s", s.Metric["urn"], s.Metric["namespace"], s.Metric["pod"], want)
				}
				got = append(got, s.Metric["urn"])
			}
			want := podsOf(t, ctx, client, "", "")
			if g, w := strings.Join(sorted(got), "\n"), strings.Join(want, "\n"); g != w {
				return false, fmt.Sprintf("the KSM join returned %d series for %d pods:\n got %s\nwant %s", len(res), len(want), g, w)
			}
			return true, ""
		})
	})

	t.Run("follows a scale-down", func(t *testing.T) {
		scale(t, ctx, client, shopNS, "web", 1)
		testenv.Eventually(t, 2*time.Minute, "web scaled to one pod", func() (bool, string) {
			n := len(podsOf(t, ctx, client, shopNS, "app=web"))
			return n == 1, fmt.Sprintf("%d web pods", n)
		})
		expectScraped(t, ctx, client, prom)
	})

	t.Run("follows a rollout", func(t *testing.T) {
		d, err := client.AppsV1().Deployments(shopNS).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].Image = "registry.example/api:2.0"
		if _, err := client.AppsV1().Deployments(shopNS).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 2*time.Minute, "api rolled out", func() (bool, string) {
			d, err := client.AppsV1().Deployments(shopNS).Get(ctx, "api", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			s := d.Status
			return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == 2 && s.Replicas == 2 && s.AvailableReplicas == 2,
				fmt.Sprintf("status %+v", s)
		})
		want := expectScraped(t, ctx, client, prom)
		rsCount := 0
		for urn, typ := range want.comps {
			if typ == "replicaset" && strings.Contains(urn, ":e2e-shop:replicaset/api-") {
				rsCount++
			}
		}
		if rsCount != 2 {
			t.Errorf("expected the old and the new ReplicaSet of api, found %d", rsCount)
		}
	})

	t.Run("follows a CronJob run", func(t *testing.T) {
		before := jobNames(t, ctx, client)
		testenv.Eventually(t, 3*time.Minute, "the CronJob fired again", func() (bool, string) {
			now := jobNames(t, ctx, client)
			for _, j := range now {
				if !contains(before, j) {
					return true, ""
				}
			}
			return false, fmt.Sprintf("jobs still %v", now)
		})
		expectScraped(t, ctx, client, prom)
	})

	t.Run("follows a namespace deletion", func(t *testing.T) {
		if err := client.CoreV1().Namespaces().Delete(ctx, shopNS, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 3*time.Minute, "namespace "+shopNS+" gone", func() (bool, string) {
			_, err := client.CoreV1().Namespaces().Get(ctx, shopNS, metav1.GetOptions{})
			return err != nil && strings.Contains(err.Error(), "not found"), fmt.Sprint(err)
		})
		want := expectScraped(t, ctx, client, prom)
		for urn := range want.comps {
			if strings.Contains(urn, shopNS) {
				t.Errorf("component of the deleted namespace still expected: %s", urn)
			}
		}
	})
}

func waitForControllers(t *testing.T, ctx context.Context, c kubernetes.Interface) {
	t.Helper()
	testenv.Eventually(t, 3*time.Minute, "controllers settled the application", func() (bool, string) {
		var waiting []string
		for _, d := range []string{"web", "api"} {
			dep, err := c.AppsV1().Deployments(shopNS).Get(ctx, d, metav1.GetOptions{})
			if err != nil || dep.Status.AvailableReplicas != *dep.Spec.Replicas {
				waiting = append(waiting, "deployment "+d)
			}
		}
		if sts, err := c.AppsV1().StatefulSets(dataNS).Get(ctx, "db", metav1.GetOptions{}); err != nil || sts.Status.ReadyReplicas != 2 {
			waiting = append(waiting, "statefulset db")
		}
		if ds, err := c.AppsV1().DaemonSets(dataNS).Get(ctx, "node-agent", metav1.GetOptions{}); err != nil || ds.Status.NumberReady != 3 {
			waiting = append(waiting, "daemonset node-agent")
		}
		pvcs, err := c.CoreV1().PersistentVolumeClaims(dataNS).List(ctx, metav1.ListOptions{})
		if err != nil || len(pvcs.Items) != 2 {
			waiting = append(waiting, "2 PVCs")
		} else {
			for _, p := range pvcs.Items {
				if p.Status.Phase != corev1.ClaimBound {
					waiting = append(waiting, "PVC "+p.Name+" bound")
				}
			}
		}
		if len(jobNames(t, ctx, c)) == 0 {
			waiting = append(waiting, "a job of the CronJob")
		}
		return len(waiting) == 0, "waiting for " + strings.Join(waiting, ", ")
	})
}

func scale(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, name string, n int32) {
	t.Helper()
	s, err := c.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Replicas = n
	if _, err := c.AppsV1().Deployments(ns).UpdateScale(ctx, name, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func podsOf(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, selector string) []string {
	t.Helper()
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods.Items {
		out = append(out, "urn:kubernetes:/e2e:"+p.Namespace+":pod/"+p.Name)
	}
	return sorted(out)
}

func jobNames(t *testing.T, ctx context.Context, c kubernetes.Interface) []string {
	t.Helper()
	jobs, err := c.BatchV1().Jobs(dataNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range jobs.Items {
		out = append(out, j.Name)
	}
	return sorted(out)
}

func sorted(s []string) []string { sort.Strings(s); return s }

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
