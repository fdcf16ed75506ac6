package demo

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/clusteragent"
	"github.com/kubetopo/kubetopo/topology"
)

const cluster = "test"

// TestSimulatorKeepsTopologyConnected runs the agent on the simulator and
// checks the published topology after every batch of changes.
func TestSimulatorKeepsTopologyConnected(t *testing.T) {
	var logs bytes.Buffer
	sim, err := New(Options{Rand: rand.New(rand.NewPCG(1, 2)), Logger: log.NewLogfmtLogger(log.NewSyncWriter(&logs))})
	if err != nil {
		t.Fatal(err)
	}
	client, md := sim.Clients()
	store := exporter.NewStore(cluster, nil)
	agent, err := clusteragent.New(clusteragent.Options{
		Cluster: cluster, Client: client, Metadata: md, Store: store, Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = agent.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	settle := func() {
		t.Helper()
		if err := sim.WaitSettled(ctx, cluster, agent.Idle, store, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	settle()
	sizes := map[int]bool{}
	const steps, batch = 200, 10
	for i := 0; i < steps; i += batch {
		for j := 0; j < batch; j++ {
			if err := sim.Step(ctx); err != nil {
				t.Fatalf("step %d: %v", i+j, err)
			}
		}
		settle()
		sizes[checkInvariants(t, ctx, sim, store)] = true
		if t.Failed() {
			t.Fatalf("after step %d; changes so far:\n%s", i+batch, logs.String())
		}
	}
	if len(sizes) < 3 {
		t.Errorf("the number of components took %d values over %d steps, want the cluster to change", len(sizes), steps)
	}
	for _, change := range []string{"scale", "restart", "cronjob", "debug-shell", "rollout", "recreate-config"} {
		if !strings.Contains(logs.String(), "change="+change+" ") {
			t.Errorf("no %q change in %d steps", change, steps)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != steps {
		t.Errorf("%d log lines, want one per step (%d)", n, steps)
	}
}

// checkInvariants asserts what must hold of the topology whatever changed,
// and returns the number of components.
func checkInvariants(t *testing.T, ctx context.Context, sim *Simulator, store *exporter.Store) int {
	t.Helper()
	got, err := ParseStore(store)
	if err != nil {
		t.Fatal(err)
	}
	u := topology.NewURNs(cluster)

	// No relation dangles.
	for _, r := range got.Relations {
		for _, end := range []string{"source_urn", "target_urn"} {
			if _, ok := got.Components[r[end]]; !ok {
				t.Errorf("relation %s %s → %s: %s is not a component", r["type"], r["source_urn"], r["target_urn"], end)
			}
		}
	}

	// Every pod hangs off exactly one parent: its controller or its
	// namespace; a Job stops controlling its pods once they finish.
	pods, err := sim.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	finished := map[string]bool{}
	for _, p := range pods.Items {
		ref := metav1.GetControllerOf(&p)
		if ref != nil && ref.Kind == "Job" && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
			finished[u.Object(topology.TypePod, p.Namespace, p.Name)] = true
		}
	}
	parents := map[string][]string{}
	for _, r := range got.Relations {
		switch {
		case r["type"] == topology.RelControls && r["target_type"] == topology.TypePod,
			r["type"] == topology.RelEncloses && r["source_type"] == topology.TypeNamespace && r["target_type"] == topology.TypePod:
			parents[r["target_urn"]] = append(parents[r["target_urn"]], r["source_urn"])
		}
	}
	podCount := 0
	for urn, l := range got.Components {
		if l["type"] != topology.TypePod {
			continue
		}
		podCount++
		want := 1
		if finished[urn] {
			want = 0
		}
		if len(parents[urn]) != want {
			t.Errorf("pod %s has parents %v, want %d", urn, parents[urn], want)
		}
	}
	if podCount != len(pods.Items) {
		t.Errorf("%d pod components, the cluster has %d pods", podCount, len(pods.Items))
	}

	// shop/frontend runs as many pods as the simulator scaled it to.
	replicas, err := sim.FrontendReplicas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := sim.client.AppsV1().Deployments(nsShop).Get(ctx, frontend, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ptrValue(d.Spec.Replicas) != replicas {
		t.Errorf("Deployment frontend has %d replicas, its ReplicaSet %d", ptrValue(d.Spec.Replicas), replicas)
	}
	frontendPods := 0
	for urn, l := range got.Components {
		if l["type"] == topology.TypePod && l["namespace"] == nsShop && strings.HasPrefix(l["name"], frontend+"-") {
			frontendPods++
			if ps := parents[urn]; len(ps) != 1 || !strings.HasPrefix(ps[0], u.Object(topology.TypeReplicaSet, nsShop, frontend+"-")) {
				t.Errorf("frontend pod %s is not controlled by a frontend ReplicaSet: %v", urn, ps)
			}
		}
	}
	if frontendPods != int(replicas) {
		t.Errorf("%d frontend pod components, want %d (the ReplicaSet's spec.replicas)", frontendPods, replicas)
	}
	return len(got.Components)
}

func TestStepIsReproducible(t *testing.T) {
	run := func() string {
		var logs bytes.Buffer
		sim, err := New(Options{Rand: rand.New(rand.NewPCG(7, 7)), Logger: log.NewLogfmtLogger(&logs)})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 30; i++ {
			if err := sim.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		return logs.String()
	}
	if a, b := run(), run(); a != b {
		t.Errorf("two runs with the same seed differ:\n%s\n---\n%s", a, b)
	}
}

func TestNewNeedsRand(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without Rand: no error")
	}
}
