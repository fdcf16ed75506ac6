//go:build integration

package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubetopo/kubetopo/internal/scenario"
	"github.com/kubetopo/kubetopo/internal/testbed"
)

func startCluster(t *testing.T, nodes int) *testbed.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := testbed.Start(ctx, testbed.Options{
		BinDir: binDir, StateDir: t.TempDir(), Controllers: true, KwokNodes: nodes, Logf: t.Logf,
		// On a loaded machine a kwok heartbeat can be late: with the default
		// 40s grace the node controller marks nodes NotReady, their pods
		// Ready=False (kwok never sets them back) and later evicts them.
		ControllerManagerArgs: []string{"--node-monitor-grace-period=10m"},
	})
	if err != nil {
		t.Fatalf("starting the test cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the test cluster: %v", err)
		}
	})
	return c
}

func clientFor(t *testing.T, c *testbed.Cluster) (kubernetes.Interface, metadata.Interface) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return kubernetes.NewForConfigOrDie(cfg), metadata.NewForConfigOrDie(cfg)
}

// growTo applies units [have, want) of the realistic scenario and waits until
// the units have as many Running pods as their Deployments and StatefulSets
// declare (kwok runs the pods on its fake nodes), with nodes kwok nodes Ready
// first.
func growTo(t *testing.T, ctx context.Context, cl *testbed.Cluster, c kubernetes.Interface, md metadata.Interface, have, want, nodes int) {
	t.Helper()
	start := time.Now()
	if err := cl.EnsureKwokNodes(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	for u := have; u < want; u++ {
		for _, obj := range append(scenario.RealisticPVs(u), scenario.RealisticUnit(u)...) {
			if err := create(ctx, c, obj); err != nil {
				t.Fatalf("unit %d: %v", u, err)
			}
		}
	}
	replicas := scenario.RealisticReplicas()
	var total int32
	for _, n := range replicas {
		total += n
	}
	total *= int32(want)
	lastLog := time.Now()
	for {
		ready, err := runningPods(ctx, md, want)
		if err == nil && ready >= total {
			t.Logf("cluster: %d units, %d pods Running on %d nodes after %s", want, ready, nodes, time.Since(start).Round(time.Second))
			return
		}
		if time.Since(lastLog) > 15*time.Second {
			t.Logf("cluster: %d of %d workload pods Running after %s (err %v)", ready, total, time.Since(start).Round(time.Second), err)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("cluster: %d of %d workload pods Running when the deadline passed: %v\ncontroller-manager log:\n%s",
				ready, total, ctx.Err(), cl.LogTail(testbed.ControllerManager, 20))
		case <-time.After(time.Second): // poll interval
		}
	}
}

// runningPods counts the Running pods of the units' namespaces, through the
// metadata API (the field selector filters, only metadata travels). Readiness
// is not waited for: kwok does not set a pod Ready again once the node
// controller has marked it not ready, which happened here while a loaded
// machine grew the cluster.
func runningPods(ctx context.Context, md metadata.Interface, units int) (int32, error) {
	var n int32
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	for u := 0; u < units; u++ {
		l, err := md.Resource(gvr).Namespace(scenario.RealisticNamespace(u)).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
		if err != nil {
			return n, err
		}
		n += int32(len(l.Items))
	}
	return n, nil
}

// podCount is the number of pods the apiserver holds, from one list page.
func podCount(ctx context.Context, c kubernetes.Interface) (int, error) {
	l, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return 0, err
	}
	n := len(l.Items)
	if l.RemainingItemCount != nil {
		n += int(*l.RemainingItemCount)
	}
	return n, nil
}

func create(ctx context.Context, c kubernetes.Interface, obj runtime.Object) error {
	o := metav1.CreateOptions{}
	var err error
	switch x := obj.(type) {
	case *corev1.Namespace:
		_, err = c.CoreV1().Namespaces().Create(ctx, x, o)
	case *corev1.PersistentVolume:
		_, err = c.CoreV1().PersistentVolumes().Create(ctx, x, o)
	case *corev1.ConfigMap:
		_, err = c.CoreV1().ConfigMaps(x.Namespace).Create(ctx, x, o)
	case *corev1.Secret:
		_, err = c.CoreV1().Secrets(x.Namespace).Create(ctx, x, o)
	case *corev1.Service:
		_, err = c.CoreV1().Services(x.Namespace).Create(ctx, x, o)
	case *appsv1.Deployment:
		_, err = c.AppsV1().Deployments(x.Namespace).Create(ctx, x, o)
	case *appsv1.StatefulSet:
		_, err = c.AppsV1().StatefulSets(x.Namespace).Create(ctx, x, o)
	case *batchv1.CronJob:
		_, err = c.BatchV1().CronJobs(x.Namespace).Create(ctx, x, o)
	default:
		return fmt.Errorf("no create for %T", obj)
	}
	if err != nil {
		m := obj.(metav1.Object)
		return fmt.Errorf("creating %T %s/%s: %w", obj, m.GetNamespace(), m.GetName(), err)
	}
	return nil
}
