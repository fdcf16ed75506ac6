//go:build integration

package dashboards

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

func startCluster(t *testing.T) (*testbed.Cluster, *rest.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := testbed.Start(ctx, testbed.Options{BinDir: binDir, StateDir: t.TempDir(), Logf: t.Logf, Controllers: true, KwokNodes: 3})
	if err != nil {
		t.Fatalf("starting the test cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the test cluster: %v", err)
		}
	})
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return c, cfg
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startAgent runs the real cluster agent binary against the cluster and
// returns its host:port once it is ready.
func startAgent(t *testing.T, kubeconfig, cluster string) string {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	logPath := filepath.Join(t.TempDir(), "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(agentBin, "--kubeconfig="+kubeconfig, "--web.listen-address="+addr, "--cluster.name="+cluster)
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
	eventually(t, 30*time.Second, "cluster agent ready", func() (bool, string) {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("cluster agent exited:\n%s", b)
		default:
		}
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
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
	eventually(t, 4*time.Minute, "the platform application settled", func() (bool, string) {
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
	eventually(t, 2*time.Minute, "every job of nightly-report finished", func() (bool, string) {
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

// eventually polls cond until it holds or the deadline passes; then it fails
// with cond's last explanation.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
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
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
}
