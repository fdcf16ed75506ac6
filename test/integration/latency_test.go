//go:build integration

package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubetopo/kubetopo/internal/scenario"
	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// BenchmarkChangeToMetric measures the time from a write acknowledged by the
// apiserver to the change being visible on the agent's /metrics: each
// iteration relabels a pod and polls /metrics back to back until the new
// label is served. Run with `make bench-latency` (-benchtime=Nx changes).
func BenchmarkChangeToMetric(b *testing.B) {
	cluster := testenv.StartCluster(b, testbed.Options{})
	client := testenv.Client(b, cluster)
	ctx := context.Background()
	applyScenario(b, ctx, client, scenario.Objects())
	agent := startAgent(b, cluster.Kubeconfig(), "--cluster.name=test")

	pods := client.CoreV1().Pods("shop")
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pod, err := pods.Get(ctx, "debug-shell", metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		pod.Labels["rev"] = fmt.Sprint(i)
		want := fmt.Sprintf(`label_rev="%d"`, i)
		if _, err := pods.Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for !strings.Contains(agent.scrape(b), want) {
			if time.Since(start) > 30*time.Second {
				b.Fatalf("change %d not visible after 30s", i)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
