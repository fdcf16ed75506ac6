package clusteragent

import (
	"bytes"
	"context"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite golden files")

// newFake returns an agent, not yet running, on the scenario held by fake
// clients.
func newFake(t *testing.T) (*Agent, *exporter.Store) {
	t.Helper()
	client, md, err := scenario.Fake(scenario.Objects())
	if err != nil {
		t.Fatal(err)
	}
	store := exporter.NewStore("test", nil)
	a, err := New(Options{Cluster: "test", Client: client, Metadata: md, Store: store, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return a, store
}

// run runs a until the test ends.
func run(t *testing.T, a *Agent) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// startFake runs an agent on the scenario held by fake clients and waits
// until it has applied every event.
func startFake(t *testing.T) (*Agent, *exporter.Store, func() []string) {
	t.Helper()
	a, store := newFake(t)
	run(t, a)
	waitIdle(t, a)
	return a, store, func() []string { return storeLines(t, store) }
}

// storeLines returns the sorted series lines the store serves.
func storeLines(t *testing.T, s *exporter.Store) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return seriesLines(buf.String())
}

func waitIdle(t *testing.T, a *Agent) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) { return a.Idle(), nil })
	if err != nil {
		t.Fatalf("agent did not become idle: %v", err)
	}
}

// seriesLines returns the sorted series lines of an exposition.
func seriesLines(exposition string) []string {
	var out []string
	for _, l := range strings.Split(exposition, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

func TestScenarioGolden(t *testing.T) {
	_, _, lines := startFake(t)
	got := strings.Join(lines(), "\n") + "\n"
	const golden = "testdata/scenario.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("topology differs from %s (run go test -update to rewrite it, then review the diff):\n%s", golden, lineDiff(string(want), got))
	}
}

func lineDiff(want, got string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// TestReadyMeansComplete: /-/ready (Agent.Ready) may turn true only once the
// store holds the whole topology of the initial lists, and stays true.
func TestReadyMeansComplete(t *testing.T) {
	a, store := newFake(t)
	if a.Ready() {
		t.Fatal("ready before the informers ran")
	}
	run(t, a)
	// The agent latches completeness itself, as its last initial object is
	// applied (and then returns the lists' memory to the OS); nobody asks
	// Ready meanwhile.
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) { return a.complete.Load(), nil }); err != nil {
		t.Fatalf("agent never complete: %v", err)
	}
	want, err := os.ReadFile("testdata/scenario.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(storeLines(t, store), "\n") + "\n"; got != string(want) {
		t.Errorf("ready with a partial topology:\n%s", lineDiff(string(want), got))
	}
	a.enqueued.Add(1) // a later event in flight must not make a running agent unready
	if !a.Ready() {
		t.Error("Ready did not latch")
	}
}
