// Command report renders the scale benchmark's results (the JSON that
// test/bench's TestScaleBenchmark writes) into docs/benchmarks.md, between
// the markers <!-- bench-scale:begin --> and <!-- bench-scale:end -->, and
// into a PNG plot of memory and /metrics latency against pod count.
//
// It is its own module (golang.org/x/image for the plot's font stays out of
// the project's go.mod): cd hack/bench/report && go run . -in ... -doc ... -png ...
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
)

// The JSON written by test/bench (only what the report uses).
type run struct {
	Date, Go, Kernel, CPU, Kubernetes, Command string
	MemTotal                                   string `json:"mem_total"`
	CPUs                                       int
	LoadStart                                  string `json:"load_start"`
	LoadEnd                                    string `json:"load_end"`
	Results                                    []result
}

type result struct {
	Pods, Nodes  int
	Args         []string
	PodsAPI      int     `json:"pods_api"`
	LoadBefore   string  `json:"load_before"`
	LoadAfter    string  `json:"load_after"`
	SyncWall     float64 `json:"sync_wall_s"`
	SyncCPU      float64 `json:"sync_cpu_s"`
	SyncDoneWall float64 `json:"sync_done_wall_s"`
	SyncDoneCPU  float64 `json:"sync_done_cpu_s"`
	Series       struct {
		Samples, Topology, Components, Labels, Relations, Pods int
	}
	RSSAfterSync  float64 `json:"rss_after_sync_bytes"`
	RSSEnd        float64 `json:"rss_end_bytes"`
	RSSPeak       float64 `json:"rss_peak_bytes"`
	HeapAfterSync float64 `json:"heap_after_sync_bytes"`
	HeapEnd       float64 `json:"heap_end_bytes"`
	IdleCPU       float64 `json:"idle_cpu_per_s"`
	Plain, Gzip   scrape
	Change        struct {
		N              int
		Rate           int     `json:"rate_per_s"`
		P50ms          float64 `json:"p50_ms"`
		P99ms          float64 `json:"p99_ms"`
		Maxms          float64 `json:"max_ms"`
		Early, Scrapes int
		SP50           float64 `json:"scrape_p50_ms"`
		SP99           float64 `json:"scrape_p99_ms"`
		CPUPerSec      float64 `json:"cpu_per_s"`
	}
	Profile *struct {
		Dir   string
		Files map[string]string
		Top   map[string][]string
	}
}

type scrape struct {
	N            int
	Bytes        int
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	Maxms        float64 `json:"max_ms"`
	CPUPerScrape float64 `json:"cpu_s_per_scrape"`
}

const (
	beginMarker = "<!-- bench-scale:begin -->"
	endMarker   = "<!-- bench-scale:end -->"
)

func main() {
	in := flag.String("in", "", "results of TestScaleBenchmark (test/bench)")
	rw := flag.String("rw", "", "results of BenchmarkReceiverRates (test/receiver), rendered between the bench-rw markers")
	doc := flag.String("doc", "../../../docs/benchmarks.md", "markdown file to update between the bench-scale markers")
	pngPath := flag.String("png", "../../../docs/bench-scale.png", "plot to write")
	pngRef := flag.String("png-ref", "bench-scale.png", "how the doc links the plot")
	flag.Parse()
	if *in != "" {
		if err := run1(*in, *doc, *pngPath, *pngRef); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
	if *rw != "" {
		md, err := renderRates(*rw)
		if err == nil {
			err = replaceBetween(*doc, "<!-- bench-rw:begin -->", "<!-- bench-rw:end -->", md)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
}

func run1(in, doc, pngPath, pngRef string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var r run
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("decode %s: %w", in, err)
	}
	if len(r.Results) == 0 {
		return fmt.Errorf("%s holds no results", in)
	}
	md := render(r, pngRef)
	if err := replaceBetween(doc, beginMarker, endMarker, md); err != nil {
		return err
	}
	return writePNG(pngPath, plots(r))
}

// label names a row: the pod count, and the flags of a variant.
func (x result) label() string {
	if len(x.Args) == 0 {
		return fmt.Sprint(x.Pods)
	}
	return fmt.Sprintf("%d, `%s`", x.Pods, strings.Join(x.Args, " "))
}

// defaults are the results of the agent with its default flags.
func defaults(rs []result) []result {
	var out []result
	for _, x := range rs {
		if len(x.Args) == 0 {
			out = append(out, x)
		}
	}
	return out
}

// replaceBetween replaces what is between the markers in file with md.
func replaceBetween(file, begin, end, md string) error {
	old, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	i, j := bytes.Index(old, []byte(begin)), bytes.Index(old, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s lacks the markers %s ... %s", file, begin, end)
	}
	var out bytes.Buffer
	out.Write(old[:i+len(begin)])
	out.WriteString("\n" + md)
	out.Write(old[j:])
	return os.WriteFile(file, out.Bytes(), 0o644)
}

func mib(b float64) string { return fmt.Sprintf("%.1f", b/(1<<20)) }

func render(r run, pngRef string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("Generated by `hack/bench/report` from the run below; do not edit by hand.\n\n")
	p("* **Date**: %s. **Machine**: %d CPUs (%s), %s RAM, %s, %s.\n", r.Date, r.CPUs, r.CPU, r.MemTotal, r.Kernel, r.Go)
	p("* **Cluster**: %s.\n", r.Kubernetes)
	p("* **Command**: `%s`\n", r.Command)
	p("* **Load average** (1/5/15 min) at the start of the run %s, at the end %s; per size in the last table. The machine was shared: other engineers' builds and tests ran at the same time, so latencies and CPU figures include contention.\n\n", r.LoadStart, r.LoadEnd)

	p("### Memory, sync and series\n\n")
	p("| pods (apiserver) | nodes | series served (topology / total) | RSS after sync | RSS at end / peak | Go heap in use after sync / end | start → `/-/ready`: wall / CPU | start → store complete, agent idle: wall / CPU |\n")
	p("|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.Results {
		p("| %s (%d) | %d | %d / %d | %s MiB | %s / %s MiB | %s / %s MiB | %.2f s / %.2f CPU-s | %.2f s / %.2f CPU-s |\n",
			x.label(), x.PodsAPI, x.Nodes, x.Series.Topology, x.Series.Samples, mib(x.RSSAfterSync), mib(x.RSSEnd), mib(x.RSSPeak),
			mib(x.HeapAfterSync), mib(x.HeapEnd), x.SyncWall, x.SyncCPU, x.SyncDoneWall, x.SyncDoneCPU)
	}
	p("\n### `/metrics`: size, latency, CPU per scrape\n\n")
	p("Each size: %d back-to-back scrapes per encoding over one kept-alive connection, timed from request to last byte.\n\n", r.Results[0].Plain.N)
	p("| pods | series | plain size | plain p50 / p99 | plain CPU-s/scrape | gzip size | gzip p50 / p99 | gzip CPU-s/scrape | idle CPU-s/s |\n")
	p("|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.Results {
		p("| %s | %d | %.1f MB | %.1f / %.1f ms | %.3f | %.1f MB | %.1f / %.1f ms | %.3f | %.3f |\n",
			x.label(), x.Series.Samples, float64(x.Plain.Bytes)/1e6, x.Plain.P50ms, x.Plain.P99ms, x.Plain.CPUPerScrape,
			float64(x.Gzip.Bytes)/1e6, x.Gzip.P50ms, x.Gzip.P99ms, x.Gzip.CPUPerScrape, x.IdleCPU)
	}
	p("\n### Change → metric under a steady stream of updates, full endpoint scraped back to back (gzip)\n\n")
	p("| pods | series | changes | rate | p50 | p99 | max | scrapes meanwhile (p50 / p99) | agent CPU-s/s | load before → after |\n")
	p("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.Results {
		c := x.Change
		p("| %s | %d | %d | %d/s | %.1f ms | %.1f ms | %.1f ms | %d (%.1f / %.1f ms) | %.2f | %s → %s |\n",
			x.label(), x.Series.Samples, c.N, c.Rate, c.P50ms, c.P99ms, c.Maxms, c.Scrapes, c.SP50, c.SP99, c.CPUPerSec, x.LoadBefore, x.LoadAfter)
	}
	p("\n![memory and /metrics latency against pod count](%s)\n\n", pngRef)
	def := defaults(r.Results)
	if len(def) == 0 {
		def = r.Results
	}
	big := def[len(def)-1]
	p("### Against the targets and kube-state-metrics at %d pods\n\n", big.Pods)
	p("kube-state-metrics v2.20.0 (reference numbers of the issue, same machine class, 10k pods on 200 kwok nodes): ~400k series. kubetopo here: %d series (%d of them topology).\n\n", big.Series.Samples, big.Series.Topology)
	var variant *result
	for i := range r.Results {
		if x := r.Results[i]; len(x.Args) > 0 && x.Pods == big.Pods {
			variant = &r.Results[i]
		}
	}
	if variant != nil {
		p("| measure | kubetopo | target | verdict | kube-state-metrics | kubetopo with `%s` (%d series) |\n|---|---|---|---|---|---|\n", strings.Join(variant.Args, " "), variant.Series.Samples)
	} else {
		p("| measure | kubetopo | target | verdict | kube-state-metrics |\n|---|---|---|---|---|\n")
	}
	verdict := func(v, limit float64) string {
		if v <= limit {
			return fmt.Sprintf("met (%.0f%% of the limit)", 100*v/limit)
		}
		return fmt.Sprintf("**missed by %.0f%%**", 100*(v/limit-1))
	}
	row := func(measure, ours string, target string, limit, v float64, ksm string, alt func(x result) string) {
		p("| %s | %s | %s | %s | %s |", measure, ours, target, verdict(v, limit), ksm)
		if variant != nil {
			p(" %s |", alt(*variant))
		}
		p("\n")
	}
	rssOf := func(x result) float64 { return max(x.RSSAfterSync, x.RSSEnd) }
	row(fmt.Sprintf("RSS (max of after sync and at end; peak %s MiB)", mib(big.RSSPeak)), mib(rssOf(big))+" MiB", "< 150 MiB", 150, rssOf(big)/(1<<20), "~305 MiB",
		func(x result) string { return mib(rssOf(x)) + " MiB" })
	row("`/metrics` p99, plain", fmt.Sprintf("%.1f ms", big.Plain.P99ms), "< 250 ms", 250, big.Plain.P99ms, "~470 ms",
		func(x result) string { return fmt.Sprintf("%.1f ms", x.Plain.P99ms) })
	row("`/metrics` p99, gzip", fmt.Sprintf("%.1f ms", big.Gzip.P99ms), "< 500 ms", 500, big.Gzip.P99ms, "~1.4 s",
		func(x result) string { return fmt.Sprintf("%.1f ms", x.Gzip.P99ms) })
	row("CPU per plain scrape", fmt.Sprintf("%.3f CPU-s", big.Plain.CPUPerScrape), "≤ 0.1", 0.1, big.Plain.CPUPerScrape, "~0.2",
		func(x result) string { return fmt.Sprintf("%.3f CPU-s", x.Plain.CPUPerScrape) })
	row("CPU per gzip scrape", fmt.Sprintf("%.3f CPU-s", big.Gzip.CPUPerScrape), "≤ 0.575", 0.575, big.Gzip.CPUPerScrape, "~1.15",
		func(x result) string { return fmt.Sprintf("%.3f CPU-s", x.Gzip.CPUPerScrape) })
	row("change→metric p99, full endpoint scraped", fmt.Sprintf("%.1f ms", big.Change.P99ms), "< 1 s", 1000, big.Change.P99ms, "~0.8 s",
		func(x result) string { return fmt.Sprintf("%.1f ms", x.Change.P99ms) })
	if len(def) > 1 {
		p("\n### Linearity\n\nThe cost each further 1,000 pods adds, between consecutive sizes: memory and latency are linear in the object count when these marginal figures stay flat (the republished control-plane series are a roughly fixed block on top of the topology).\n\n")
		p("| from → to pods | series added | RSS after sync | Go heap after sync | plain p50 | gzip p50 |\n|---|---|---|---|---|---|\n")
		for i := 1; i < len(def); i++ {
			a, z := def[i-1], def[i]
			k := float64(z.Pods-a.Pods) / 1000
			p("| %d → %d | %d | %+.1f MiB per 1k pods | %+.1f MiB per 1k pods | %+.1f ms per 1k pods | %+.1f ms per 1k pods |\n",
				a.Pods, z.Pods, z.Series.Samples-a.Series.Samples, (z.RSSAfterSync-a.RSSAfterSync)/(1<<20)/k, (z.HeapAfterSync-a.HeapAfterSync)/(1<<20)/k,
				(z.Plain.P50ms-a.Plain.P50ms)/k, (z.Gzip.P50ms-a.Gzip.P50ms)/k)
		}
	}
	if big.Profile != nil {
		p("\n### Profiles of the %d-pod agent\n\n", big.Pods)
		p("Taken with a profiling build of the same agent (`net/http/pprof` added through `go build -overlay`, see `test/bench/testdata/`), files in `%s` of the run (not committed). `go tool pprof -top`, first entries:\n\n", big.Profile.Dir)
		for _, what := range []string{"sync CPU", "sync CPU, cumulative", "plain scrapes CPU", "plain scrapes CPU, cumulative",
			"gzip scrapes CPU", "gzip scrapes CPU, cumulative", "heap in use", "allocations since start"} {
			lines := big.Profile.Top[what]
			if len(lines) == 0 {
				continue
			}
			p("<details><summary>%s</summary>\n\n```\n%s\n```\n</details>\n\n", what, strings.Join(topLines(lines, 12), "\n"))
		}
	}
	return b.String()
}

// topLines keeps pprof's header lines that matter and the first n entries.
func topLines(lines []string, n int) []string {
	var out []string
	entries := 0
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "File:"), strings.HasPrefix(l, "Build ID:"), strings.HasPrefix(l, "Time:"), strings.HasPrefix(l, "Type:"):
			continue
		case strings.Contains(l, "flat%"):
			out = append(out, l)
		case strings.HasPrefix(l, "Showing"), strings.HasPrefix(l, "Duration:"), strings.HasPrefix(l, "Dropped"):
			out = append(out, l)
		default:
			if entries < n {
				out = append(out, l)
				entries++
			}
		}
	}
	return out
}

func plots(r run) []panel {
	var xs, rssSync, rssEnd, rssPeak, heap, pp50, gp50, pp99, gp99, cp99 []float64
	for _, x := range defaults(r.Results) {
		xs = append(xs, float64(x.Pods))
		rssSync = append(rssSync, x.RSSAfterSync/(1<<20))
		rssEnd = append(rssEnd, x.RSSEnd/(1<<20))
		rssPeak = append(rssPeak, x.RSSPeak/(1<<20))
		heap = append(heap, x.HeapAfterSync/(1<<20))
		pp50 = append(pp50, x.Plain.P50ms)
		gp50 = append(gp50, x.Gzip.P50ms)
		pp99 = append(pp99, x.Plain.P99ms)
		gp99 = append(gp99, x.Gzip.P99ms)
		cp99 = append(cp99, x.Change.P99ms)
	}
	ends := []float64{0, 10000}
	return []panel{
		{title: "kubetopo cluster agent: memory", xlabel: "pods", ylabel: "MiB", series: []series{
			{name: "RSS after sync", col: blue, xs: xs, ys: rssSync},
			{name: "RSS at the end (after scrapes and changes)", col: lightBlue, xs: xs, ys: rssEnd},
			{name: "peak RSS (VmHWM)", col: purple, xs: xs, ys: rssPeak},
			{name: "Go heap in use after sync", col: green, xs: xs, ys: heap},
			{name: "target at 10k pods: 150 MiB", col: red, xs: ends, ys: []float64{150, 150}, dashed: true},
			{name: "kube-state-metrics at 10k pods: ~305 MiB", col: orange, xs: []float64{10000}, ys: []float64{305}, marker: true},
		}},
		{title: "kubetopo cluster agent: /metrics latency", xlabel: "pods", ylabel: "ms", series: []series{
			{name: "plain p50", col: lightBlue, xs: xs, ys: pp50},
			{name: "gzip p50", col: lightGreen, xs: xs, ys: gp50},
			{name: "plain p99", col: blue, xs: xs, ys: pp99},
			{name: "gzip p99", col: green, xs: xs, ys: gp99},
			{name: "change->metric p99 (scraped back to back)", col: purple, xs: xs, ys: cp99},
			{name: "targets at 10k: 250 ms plain, 500 ms gzip", col: red, xs: ends, ys: []float64{250, 250}, dashed: true},
			{name: "", col: red, xs: ends, ys: []float64{500, 500}, dashed: true},
			{name: "kube-state-metrics at 10k: ~470 ms plain, ~1.4 s gzip", col: orange, xs: []float64{10000, 10000}, ys: []float64{470, 1400}, marker: true},
		}},
	}
}
