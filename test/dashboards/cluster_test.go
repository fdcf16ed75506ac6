//go:build integration

package dashboards

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

func startCluster(t *testing.T) (*testbed.Cluster, *rest.Config) {
	t.Helper()
	c := testenv.StartCluster(t, testbed.Options{Controllers: true, KwokNodes: 3})
	return c, testenv.RESTConfig(t, c)
}

// startAgent runs the real cluster agent binary against the cluster and
// returns its host:port once it is ready.
func startAgent(t *testing.T, kubeconfig, cluster string) string {
	t.Helper()
	addr := testenv.FreeAddr(t)
	p := testenv.StartProcess(t, testenv.ProcessOptions{
		Name: "cluster agent",
		Path: testenv.Binary(agentName),
		Args: []string{"--kubeconfig=" + kubeconfig, "--web.listen-address=" + addr, "--cluster.name=" + cluster},
	})
	testenv.WaitReady(t, p, "http://"+addr, 30*time.Second)
	return addr
}

// applyManifest creates every object of a multi-document YAML manifest
// through the dynamic client, as `kubectl create -f` would.
func applyManifest(t *testing.T, ctx context.Context, cfg *rest.Config, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			t.Fatalf("decoding %s: %v", path, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s %s: %v", gvk, obj.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if obj.GetNamespace() != "" {
			ri = dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
		}
		if _, err := ri.Create(ctx, &obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s %s/%s: %v", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
}

// waitForPlatform waits until the controllers and kwok have settled the
// platform namespace, then suspends the CronJob so its Jobs stay put.
func waitForPlatform(t *testing.T, ctx context.Context, c kubernetes.Interface) {
	t.Helper()
	const ns = "platform"
	testenv.Eventually(t, 4*time.Minute, "the platform application settled", func() (bool, string) {
		var waiting []string
		if s, err := c.AppsV1().StatefulSets(ns).Get(ctx, "postgres", metav1.GetOptions{}); err != nil || s.Status.ReadyReplicas != 3 {
			waiting = append(waiting, "statefulset postgres 3 ready")
		}
		if d, err := c.AppsV1().DaemonSets(ns).Get(ctx, "log-agent", metav1.GetOptions{}); err != nil || d.Status.NumberReady != 3 {
			waiting = append(waiting, "daemonset log-agent 3 ready")
		}
		if d, err := c.AppsV1().Deployments(ns).Get(ctx, "web-default", metav1.GetOptions{}); err != nil || d.Status.AvailableReplicas != 2 {
			waiting = append(waiting, "deployment web-default 2 available")
		}
		pvcs, err := c.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		bound := 0
		if err == nil {
			for _, p := range pvcs.Items {
				if p.Status.Phase == "Bound" {
					bound++
				}
			}
		}
		if bound != 3 {
			waiting = append(waiting, "3 PVCs bound")
		}
		jobs, err := c.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		done := 0
		if err == nil {
			for _, j := range jobs.Items {
				if j.Status.Succeeded > 0 {
					done++
				}
			}
		}
		if done == 0 {
			waiting = append(waiting, "a completed job of nightly-report")
		}
		return len(waiting) == 0, "waiting for " + strings.Join(waiting, ", ")
	})
	patch := []byte(`{"spec":{"suspend":true}}`)
	if _, err := c.BatchV1().CronJobs(ns).Patch(ctx, "nightly-report", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// A Job the CronJob started just before the suspension must finish too.
	testenv.Eventually(t, 2*time.Minute, "every job of nightly-report finished", func() (bool, string) {
		jobs, err := c.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, j := range jobs.Items {
			if j.Status.Succeeded == 0 {
				return false, "job " + j.Name + " still running"
			}
		}
		return true, ""
	})
}
