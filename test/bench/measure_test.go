//go:build integration

package bench

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// measure starts a fresh agent with args added to its default flags on the
// cluster as it is and measures it.
func measure(t *testing.T, ctx context.Context, cl *testbed.Cluster, c kubernetes.Interface, cfg config, size, nodes int, args ...string) Result {
	t.Helper()
	r := Result{Pods: size, Nodes: nodes, LoadBefore: testenv.LoadAvg(), Args: args}
	apiPods, err := podCount(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	r.PodsAPI = apiPods

	agent := startAgent(t, agentBin, cl.Kubeconfig(), nil, args...)
	defer agent.stop()
	wall, cpu := agent.waitReady(t, 5*time.Minute)
	r.SyncWallSec, r.SyncCPUSec = wall.Seconds(), cpu

	// /-/ready means the informers have listed; their objects may still be
	// queued for the store. The sync is done when the agent goes idle
	// (its CPU stands still for 500 ms) and a scrape then shows an empty queue
	// and every pod the apiserver has (CronJob pods come and go: within 2%).
	s := newScraper(agent.url)
	for deadline := time.Now().Add(2 * time.Minute); ; {
		doneWall, doneCPU := agent.waitIdle(t, 500*time.Millisecond, deadline)
		r.RSSAfterSync, _ = agent.memory(t)
		res, err := s.scrape(false)
		if err != nil {
			t.Fatal(err)
		}
		r.Series = parseExposition(res.wire)
		r.SyncScrapes++
		if r.Series.QueueDepth == 0 && r.Series.Pods*100 >= apiPods*98 {
			r.SyncDoneWallSec, r.SyncDoneCPUSec = doneWall.Seconds(), doneCPU
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after two minutes the agent publishes %d pods (queue %d), the apiserver holds %d", r.Series.Pods, r.Series.QueueDepth, apiPods)
		}
	}
	r.HeapAfterSync = r.Series.HeapInuse
	t.Logf("%d pods %v: ready after %.2fs wall, %.2f CPU-s; store complete and idle after %.2fs, %.2f CPU-s; RSS %s after sync; %d samples (%d topology: %d components, %d label sets, %d relations); %d pods published, %d in the apiserver",
		size, args, r.SyncWallSec, r.SyncCPUSec, r.SyncDoneWallSec, r.SyncDoneCPUSec, fmtMiB(float64(r.RSSAfterSync)), r.Series.Samples, r.Series.Topology,
		r.Series.Components, r.Series.Labels, r.Series.Relations, r.Series.Pods, apiPods)

	// Background CPU with nobody scraping (informer resyncs, CronJob churn, GC).
	c0 := agent.cpuSeconds(t)
	time.Sleep(cfg.idleWindow) // a measurement window, not synchronisation
	r.IdleCPUPerSec = (agent.cpuSeconds(t) - c0) / cfg.idleWindow.Seconds()

	r.Plain = scrapeLoop(t, agent, s, false, cfg.scrapes)
	r.Gzip = scrapeLoop(t, agent, s, true, cfg.scrapes)
	t.Logf("%d pods: /metrics plain %d bytes p50 %.1f ms p99 %.1f ms %.3f CPU-s/scrape; gzip %d bytes p50 %.1f ms p99 %.1f ms %.3f CPU-s/scrape",
		size, r.Plain.Bytes, r.Plain.P50ms, r.Plain.P99ms, r.Plain.CPUPerScrape, r.Gzip.Bytes, r.Gzip.P50ms, r.Gzip.P99ms, r.Gzip.CPUPerScrape)

	r.Change = changeToMetric(t, ctx, c, agent, cfg)
	t.Logf("%d pods: change→metric over %d changes at %d/s while scraping gzip back to back: p50 %.1f ms p99 %.1f ms max %.1f ms (scrape p50 %.1f ms, %d scrapes)",
		size, r.Change.N, cfg.changeRate, r.Change.P50ms, r.Change.P99ms, r.Change.Maxms, r.Change.ScrapeP50ms, r.Change.Scrapes)

	r.RSSEnd, r.RSSPeak = agent.memory(t)
	end, err := s.scrape(false)
	if err != nil {
		t.Fatal(err)
	}
	r.HeapEnd = parseExposition(end.wire).HeapInuse
	r.LoadAfter = testenv.LoadAvg()
	t.Logf("%d pods: RSS %s at the end, peak %s; heap in use %s after sync, %s at the end; load %s → %s",
		size, fmtMiB(float64(r.RSSEnd)), fmtMiB(float64(r.RSSPeak)), fmtMiB(r.HeapAfterSync), fmtMiB(r.HeapEnd), r.LoadBefore, r.LoadAfter)
	return r
}

// scrapeLoop scrapes n times back to back and reports latency, size and the
// agent's CPU per scrape.
func scrapeLoop(t *testing.T, a *agentProc, s *scraper, gz bool, n int) scrapeStats {
	t.Helper()
	var d []time.Duration
	st := scrapeStats{N: n}
	c0 := a.cpuSeconds(t)
	for i := 0; i < n; i++ {
		res, err := s.scrape(gz)
		if err != nil {
			t.Fatal(err)
		}
		d = append(d, res.duration)
		st.Bytes = len(res.wire)
	}
	st.CPUPerScrape = (a.cpuSeconds(t) - c0) / float64(n)
	st.P50ms, st.P99ms, st.Maxms = testenv.QuantileMs(d, 0.5), testenv.QuantileMs(d, 0.99), testenv.QuantileMs(d, 1)
	return st
}
