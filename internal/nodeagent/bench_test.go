package nodeagent

import (
	"fmt"
	"io"
	"regexp"
	"runtime"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubetopo/kubetopo/internal/republish"
	"github.com/kubetopo/kubetopo/internal/standin"
)

// kubelet100Pods scales the recorded kubelet endpoints to a kubelet with
// ~100 pods by rewriting label values (standin.Replicate), never by typing
// series: /metrics/resource and /metrics/probes copy the recorded node's 7
// pods 15 times (105 pods) under new pod names; /metrics/cadvisor copies the
// recorded cgroups 25 times under new cgroup ids (250 cgroups, i.e. ~100
// pods with a pod cgroup and 1-2 containers each); /metrics is one kubelet's.
func kubelet100Pods(b testing.TB) map[string][]byte {
	b.Helper()
	pods := func(copy int) standin.Rewriter {
		m := map[string]string{}
		for _, s := range recorded(b, "kubelet-v1.33.13-metrics-resource.prom") {
			if p := s.l.Get("pod"); p != "" {
				m[p] = fmt.Sprintf("%s-c%02d", p, copy)
			}
		}
		return standin.Rewriter{Labels: map[string]map[string]string{"pod": m}}
	}
	ids := regexp.MustCompile(`id="(/process_api[^"]*)"`)
	var cgroups []string
	seen := map[string]bool{}
	for _, m := range ids.FindAllStringSubmatch(string(readTestdata(b, "cadvisor-v0.52.1.prom")), -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			cgroups = append(cgroups, m[1])
		}
	}
	sort.Strings(cgroups)
	var podCopies, cgroupCopies []standin.Rewriter
	for i := 0; i < 15; i++ {
		podCopies = append(podCopies, pods(i))
	}
	for i := 0; i < 25; i++ {
		m := map[string]string{}
		for _, c := range cgroups {
			m[c] = fmt.Sprintf("/kubepods/burstable/pod%02d%s", i, c[len("/process_api"):])
		}
		cgroupCopies = append(cgroupCopies, standin.Rewriter{Labels: map[string]map[string]string{"id": m}})
	}
	scale := func(file string, copies []standin.Rewriter) []byte {
		out, err := standin.Rewriter{}.Replicate(readTestdata(b, file), copies)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	return map[string][]byte{
		"/metrics":          readTestdata(b, "kubelet-v1.33.13-metrics.prom"),
		"/metrics/cadvisor": scale("cadvisor-v0.52.1.prom", cgroupCopies),
		"/metrics/resource": scale("kubelet-v1.33.13-metrics-resource.prom", podCopies),
		"/metrics/probes":   scale("kubelet-v1.33.13-metrics-probes.prom", podCopies),
	}
}

func renderKubelet(b *testing.B, pages map[string][]byte, res *Resolver) []*republish.Page {
	out := make([]*republish.Page, 0, len(pages))
	paths := make([]string, 0, len(pages))
	for p := range pages {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		page, err := republish.Render(pages[path], "text/plain; version=0.0.4", republish.RenderOptions{
			Cluster: "prod-eu", Resolve: res.Kubelet, Labels: []labels.Label{{Name: "metrics_path", Value: path}},
		})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, page)
	}
	return out
}

// BenchmarkRepublishKubelet100Pods: one scrape round's parse + resolve +
// render of all four kubelet endpoints of a 100-pod kubelet.
func BenchmarkRepublishKubelet100Pods(b *testing.B) {
	pages := kubelet100Pods(b)
	res := NewResolver("prod-eu", "node-a")
	series, in := 0, 0
	for _, p := range renderKubelet(b, pages, res) {
		series += p.Series
	}
	for _, p := range pages {
		in += len(p)
	}
	b.SetBytes(int64(in))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	start := time.Now()
	rounds := 0
	for b.Loop() {
		renderKubelet(b, pages, res)
		rounds++
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&after)
	n := float64(rounds) * float64(series)
	b.ReportMetric(float64(series), "series/round")
	b.ReportMetric(n/elapsed.Seconds(), "series/s")
	// The machine is shared: series per CPU-second (user+system time of
	// the process, GC included) does not depend on what else runs.
	b.ReportMetric(n/cpu.Seconds(), "series/cpu-s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/series")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/series")
}

// BenchmarkServeKubelet100Pods: writing the pre-rendered pages of a 100-pod
// kubelet on /metrics (what every Prometheus scrape of the agent costs).
func BenchmarkServeKubelet100Pods(b *testing.B) {
	rendered := renderKubelet(b, kubelet100Pods(b), NewResolver("prod-eu", "node-a"))
	series, size := 0, 0
	for _, p := range rendered {
		series += p.Series
		size += p.Bytes
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	rounds := 0
	cpu0 := cpuTime()
	start := time.Now()
	for b.Loop() {
		if _, err := republish.WritePages(io.Discard, rendered, nil); err != nil {
			b.Fatal(err)
		}
		rounds++
	}
	n := float64(rounds) * float64(series)
	b.ReportMetric(n/time.Since(start).Seconds(), "series/s")
	b.ReportMetric(n/(cpuTime()-cpu0).Seconds(), "series/cpu-s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
