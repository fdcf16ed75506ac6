//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubetopo/kubetopo/internal/scenario"
	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// bootstrap are the objects a bare kube-apiserver creates by itself, as the
// agent must publish them for cluster "test".
var bootstrap = []string{
	`kubetopo_component_info{cluster="test",urn="urn:kubernetes:/test:namespace/default",type="namespace",namespace="default",name="default"} 1`,
	`kubetopo_component_info{cluster="test",urn="urn:kubernetes:/test:namespace/kube-node-lease",type="namespace",namespace="kube-node-lease",name="kube-node-lease"} 1`,
	`kubetopo_component_info{cluster="test",urn="urn:kubernetes:/test:namespace/kube-public",type="namespace",namespace="kube-public",name="kube-public"} 1`,
	`kubetopo_component_info{cluster="test",urn="urn:kubernetes:/test:namespace/kube-system",type="namespace",namespace="kube-system",name="kube-system"} 1`,
	`kubetopo_component_labels{cluster="test",urn="urn:kubernetes:/test:namespace/default",label_kubernetes_io_metadata_name="default"} 1`,
	`kubetopo_component_labels{cluster="test",urn="urn:kubernetes:/test:namespace/kube-node-lease",label_kubernetes_io_metadata_name="kube-node-lease"} 1`,
	`kubetopo_component_labels{cluster="test",urn="urn:kubernetes:/test:namespace/kube-public",label_kubernetes_io_metadata_name="kube-public"} 1`,
	`kubetopo_component_labels{cluster="test",urn="urn:kubernetes:/test:namespace/kube-system",label_kubernetes_io_metadata_name="kube-system"} 1`,
	`kubetopo_component_info{cluster="test",urn="urn:kubernetes:/test:default:service/kubernetes",type="service",namespace="default",name="kubernetes",service="kubernetes"} 1`,
	`kubetopo_component_labels{cluster="test",urn="urn:kubernetes:/test:default:service/kubernetes",label_component="apiserver",label_provider="kubernetes"} 1`,
	`kubetopo_relation_info{cluster="test",type="encloses",source_urn="urn:kubernetes:/test:namespace/default",target_urn="urn:kubernetes:/test:default:service/kubernetes",source_type="namespace",target_type="service"} 1`,
	`kubetopo_component_info{cluster="test",urn="urn:kubernetes:/test:kube-system:configmap/extension-apiserver-authentication",type="configmap",namespace="kube-system",name="extension-apiserver-authentication",configmap="extension-apiserver-authentication"} 1`,
	`kubetopo_component_labels{cluster="test",urn="urn:kubernetes:/test:kube-system:configmap/extension-apiserver-authentication"} 1`,
	`kubetopo_component_info{cluster="test",urn="urn:kubernetes:/test:kube-system:configmap/kube-apiserver-legacy-service-account-token-tracking",type="configmap",namespace="kube-system",name="kube-apiserver-legacy-service-account-token-tracking",configmap="kube-apiserver-legacy-service-account-token-tracking"} 1`,
	`kubetopo_component_labels{cluster="test",urn="urn:kubernetes:/test:kube-system:configmap/kube-apiserver-legacy-service-account-token-tracking"} 1`,
}

// expectedScenario is the reviewed golden topology of the scenario (the
// engine's fake-client test keeps it) plus the apiserver's own objects.
func expectedScenario(t *testing.T) set {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "clusteragent", "testdata", "scenario.golden"))
	if err != nil {
		t.Fatal(err)
	}
	want := topologySet(string(b))
	for _, l := range bootstrap {
		want[l] = true
	}
	return want
}

func TestClusterAgentAgainstRealAPIServer(t *testing.T) {
	cluster := testenv.StartCluster(t, testbed.Options{})
	client := testenv.Client(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	applyScenario(t, ctx, client, scenario.Objects())
	agent := startAgent(t, cluster.Kubeconfig(), "--cluster.name=test")
	want := expectedScenario(t)

	if !t.Run("every object is a component and every relation is published, exactly", func(t *testing.T) {
		expectTopology(t, agent, want)
	}) {
		return
	}

	t.Run("no secret data, no last-applied configuration", func(t *testing.T) {
		out := agent.scrape(t)
		for _, leak := range []string{scenario.SecretValue, scenario.LastAppliedValue, "last-applied", "log_level: info"} {
			if strings.Contains(out, leak) {
				t.Errorf("/metrics contains %q", leak)
			}
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(testenv.BinDir(), "promtool"), "check", "metrics")
		cmd.Stdin = strings.NewReader(agent.scrape(t))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("follows a pod deletion", func(t *testing.T) {
		if err := client.CoreV1().Pods("shop").Delete(ctx, "frontend-6d4cf56db6-fghij", forceDelete); err != nil {
			t.Fatal(err)
		}
		removed := want.without("frontend-6d4cf56db6-fghij")
		if len(removed) < 20 {
			t.Fatalf("expected the pod to take its containers, volumes and relations with it, only %d series named it", len(removed))
		}
		expectTopology(t, agent, want)
	})

	t.Run("follows a service selector change", func(t *testing.T) {
		svc, err := client.CoreV1().Services("shop").Get(ctx, "cart", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc.Spec.Selector = map[string]string{"app": "cart-v2"}
		if _, err := client.CoreV1().Services("shop").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if n := len(want.without(`type="exposes",source_urn="urn:kubernetes:/test:shop:service/cart",`)); n != 1 {
			t.Fatalf("expected one exposes relation from service/cart, had %d", n)
		}
		expectTopology(t, agent, want)
	})

	t.Run("follows a label change", func(t *testing.T) {
		pod, err := client.CoreV1().Pods("shop").Get(ctx, "debug-shell", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Labels["owner"] = "on-call"
		if _, err := client.CoreV1().Pods("shop").Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if n := len(want.without(`kubetopo_component_labels{cluster="test",urn="urn:kubernetes:/test:shop:pod/debug-shell",`)); n != 1 {
			t.Fatalf("expected one labels series for pod/debug-shell, had %d", n)
		}
		want[`kubetopo_component_labels{cluster="test",urn="urn:kubernetes:/test:shop:pod/debug-shell",label_owner="on-call",label_run="debug-shell"} 1`] = true
		expectTopology(t, agent, want)
	})

	t.Run("a deleted configmap takes its relations along, a recreated one brings them back", func(t *testing.T) {
		if err := client.CoreV1().ConfigMaps("shop").Delete(ctx, "frontend-config", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		removed := want.without(`configmap/frontend-config"`)
		expectTopology(t, agent, want)

		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "frontend-config", Labels: map[string]string{"app.kubernetes.io/part-of": "shop"}}}
		if _, err := client.CoreV1().ConfigMaps("shop").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for l := range removed {
			want[l] = true
		}
		expectTopology(t, agent, want)
	})

	t.Run("recovers from an apiserver restart with no stale components", func(t *testing.T) {
		if err := cluster.StopComponent(testbed.APIServer); err != nil {
			t.Fatal(err)
		}
		// While the apiserver is down, objects vanish behind its back and
		// history is compacted: the agent cannot resume its watches and must
		// relist, seeing the deletions only as missing objects.
		etcdDelete(t, cluster.EtcdURL(), "/registry/pods/shop/debug-shell")
		etcdDelete(t, cluster.EtcdURL(), "/registry/services/specs/shop/frontend-nodeport")
		etcdCompact(t, cluster.EtcdURL())
		startCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cluster.StartComponent(startCtx, testbed.APIServer); err != nil {
			t.Fatal(err)
		}
		want.without("pod/debug-shell", "service/frontend-nodeport")
		expectTopology(t, agent, want)

		out := agent.scrape(t)
		counts := grep(out, `kubetopo_watch_restarts_total{resource="pods"}`) + grep(out, `kubetopo_relists_total{resource="pods"}`)
		if strings.Count(counts, "_total") != 2 || strings.Contains(counts, "} 0\n") {
			t.Errorf("expected the pods informer to have restarted its watch and relisted; metrics:\n%s", counts)
		}
		t.Logf("after the apiserver restart:\n%s", counts)
		if strings.Contains(out, `kubetopo_informer_synced{resource="pods"} 0`) {
			t.Errorf("pods informer not synced after the restart")
		}
	})
}

// forceDelete deletes a pod at once: there is no kubelet to confirm a
// graceful deletion of a pod bound to a node.
var forceDelete = metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l+"\n")
		}
	}
	return strings.Join(out, "")
}
