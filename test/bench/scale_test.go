//go:build integration

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/scenario"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// Result is what the benchmark measured at one cluster size; hack/bench
// renders a list of them into docs/benchmarks.md and the plot.
type Result struct {
	Pods        int      `json:"pods"`           // declared workload pods (Deployments + StatefulSets)
	Args        []string `json:"args,omitempty"` // flags added to the agent's defaults (a variant)
	PodsAPI     int      `json:"pods_api"`       // pods the apiserver holds (CronJob pods included)
	Nodes       int      `json:"nodes"`          // kwok nodes
	LoadBefore  string   `json:"load_before"`    // /proc/loadavg when the agent started
	LoadAfter   string   `json:"load_after"`     // /proc/loadavg when the size was done
	SyncWallSec float64  `json:"sync_wall_s"`    // agent start → first 200 on /-/ready
	SyncCPUSec  float64  `json:"sync_cpu_s"`     // agent CPU (user+system) at that moment
	// Store complete: the agent idle (CPU still for 500 ms) after ready, then
	// a scrape shows an empty queue and every pod published (SyncScrapes
	// scrapes were needed; each but the last adds its CPU to SyncDoneCPUSec).
	SyncScrapes     int     `json:"sync_scrapes"`
	SyncDoneWallSec float64 `json:"sync_done_wall_s"`
	SyncDoneCPUSec  float64 `json:"sync_done_cpu_s"`
	// Series of the full endpoint once synced (the agent's own metrics included in Samples).
	Series exposition `json:"series"`
	// Memory: /proc VmRSS after sync (before any scrape) and at the end of the
	// size (after all scrapes and changes), peak VmHWM, Go heap in use from the
	// agent's own go_memstats_heap_inuse_bytes after sync and at the end.
	RSSAfterSync  int64           `json:"rss_after_sync_bytes"`
	RSSEnd        int64           `json:"rss_end_bytes"`
	RSSPeak       int64           `json:"rss_peak_bytes"`
	HeapAfterSync float64         `json:"heap_after_sync_bytes"`
	HeapEnd       float64         `json:"heap_end_bytes"`
	IdleCPUPerSec float64         `json:"idle_cpu_per_s"` // agent CPU-s per second with nobody scraping
	Plain         scrapeStats     `json:"plain"`
	Gzip          scrapeStats     `json:"gzip"`
	Change        changeStats     `json:"change"`
	Profile       *profileSummary `json:"profile,omitempty"`
}

type scrapeStats struct {
	N            int     `json:"n"`
	Bytes        int     `json:"bytes"` // body on the wire
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	Maxms        float64 `json:"max_ms"`
	CPUPerScrape float64 `json:"cpu_s_per_scrape"` // agent CPU over the loop / N (idle CPU included)
}

// Meta describes the run.
type Meta struct {
	Date       string   `json:"date"`
	GoVersion  string   `json:"go"`
	Kernel     string   `json:"kernel"`
	CPU        string   `json:"cpu"`
	CPUs       int      `json:"cpus"`
	MemTotal   string   `json:"mem_total"`
	Kubernetes string   `json:"kubernetes"`
	Command    string   `json:"command"`
	Results    []Result `json:"results"`
	LoadStart  string   `json:"load_start"`
	LoadEnd    string   `json:"load_end"`
}

// TestScaleBenchmark grows one cluster through the sizes in
// KUBETOPO_BENCH_SIZES (pods, multiples of 1000) and measures a freshly
// started agent at each. It is a test, not a go benchmark, because one
// iteration takes minutes; it asserts only that the agent publishes every
// pod and every change, and writes its measurements to KUBETOPO_BENCH_OUT.
func TestScaleBenchmark(t *testing.T) {
	sizesEnv := os.Getenv("KUBETOPO_BENCH_SIZES")
	if sizesEnv == "" {
		t.Skip("set KUBETOPO_BENCH_SIZES (e.g. 1000,5000,10000) to run the scale benchmark: make bench-scale")
	}
	var sizes []int
	for _, s := range strings.Split(sizesEnv, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 || n%scenario.RealisticUnitPods != 0 {
			t.Fatalf("KUBETOPO_BENCH_SIZES: %q is not a positive multiple of %d", s, scenario.RealisticUnitPods)
		}
		sizes = append(sizes, n)
	}
	sort.Ints(sizes)
	out := envOr("KUBETOPO_BENCH_OUT", "bench-scale.json")
	cfg := config{
		scrapes:     envInt(t, "KUBETOPO_BENCH_SCRAPES", 100),
		changes:     envInt(t, "KUBETOPO_BENCH_CHANGES", 200),
		changeRate:  envInt(t, "KUBETOPO_BENCH_CHANGE_RATE", 10),
		podsPerNode: envInt(t, "KUBETOPO_BENCH_PODS_PER_NODE", 50),
		profileDir:  os.Getenv("KUBETOPO_BENCH_PROFILE_DIR"),
		variantArgs: strings.Fields(envOr("KUBETOPO_BENCH_VARIANT_ARGS", "--no-controlplane.enabled")),
		idleWindow:  5 * time.Second,
	}
	meta := newMeta(t)
	nodes := func(pods int) int { return max(1, pods/cfg.podsPerNode) }

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	cluster := startCluster(t, nodes(sizes[0]))
	client, md := clientFor(t, cluster)
	units := 0
	for i, size := range sizes {
		growCtx, growCancel := context.WithTimeout(ctx, 30*time.Minute)
		growTo(t, growCtx, cluster, client, md, units, size/scenario.RealisticUnitPods, nodes(size))
		growCancel()
		units = size / scenario.RealisticUnitPods
		r := measure(t, ctx, cluster, client, cfg, size, nodes(size))
		if cfg.profileDir != "" && i == len(sizes)-1 {
			r.Profile = profile(t, cluster, cfg, r)
		}
		meta.Results = append(meta.Results, r)
		if len(cfg.variantArgs) > 0 && cfg.variantArgs[0] != "-" && i == len(sizes)-1 {
			// The same size once more with a variant of the flags (by default
			// without the republished control-plane metrics: the topology's own cost).
			meta.Results = append(meta.Results, measure(t, ctx, cluster, client, cfg, size, nodes(size), cfg.variantArgs...))
		}
		writeJSON(t, out, meta) // after every size: a late failure keeps the earlier ones
	}
	meta.LoadEnd = testenv.LoadAvg()
	writeJSON(t, out, meta)
	t.Logf("results written to %s", out)
}

type config struct {
	scrapes, changes, changeRate, podsPerNode int
	profileDir                                string
	variantArgs                               []string
	idleWindow                                time.Duration
}

func newMeta(t *testing.T) Meta {
	m := Meta{
		Date: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		Kubernetes: "kube-apiserver, kube-controller-manager, kube-scheduler v1.33.13, etcd and kwok v0.7.0 from internal/testbed",
		Command:    envOr("KUBETOPO_BENCH_COMMAND", "go test -tags integration -run TestScaleBenchmark ./test/bench/"),
		LoadStart:  testenv.LoadAvg(),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		l, _, _ := strings.Cut(string(b), "\n")
		m.MemTotal = strings.Join(strings.Fields(l)[1:], " ")
	}
	return m
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatalf("writing results: %v", err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(t *testing.T, k string, def int) int {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", k, v)
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fmtMiB(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
