//go:build integration

package bench

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubetopo/kubetopo/internal/scenario"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

type changeStats struct {
	N           int     `json:"n"`
	RatePerSec  int     `json:"rate_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	Maxms       float64 `json:"max_ms"`
	Early       int     `json:"early"`   // seen by a scrape that ended before the apiserver's answer arrived: counted as 0
	Scrapes     int     `json:"scrapes"` // full gzip scrapes during the stream
	ScrapeP50ms float64 `json:"scrape_p50_ms"`
	ScrapeP99ms float64 `json:"scrape_p99_ms"`
	CPUPerSec   float64 `json:"cpu_per_s"` // agent CPU-s per second during the stream
}

// changeLabel is the pod label the stream of updates writes, with values
// "r<round>c<i>": a round per measurement, since the pods keep the labels
// an earlier measurement wrote.
const changeLabel = "benchrev"

var changeRound atomic.Int64

// changeToMetric relabels web pods at cfg.changeRate per second, cfg.changes
// times, while another goroutine scrapes the full /metrics (gzip, as
// Prometheus asks) back to back. A change's latency runs from the apiserver's
// answer to the patch to the end of the first scrape that shows it. A pod is
// changed again only after its previous change was seen, so none is
// superseded unseen.
func changeToMetric(t *testing.T, ctx context.Context, c kubernetes.Interface, a *agentProc, cfg config) changeStats {
	t.Helper()
	round := changeRound.Add(1)
	ns := scenario.RealisticNamespace(0)
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "tier=bench"})
	if err != nil {
		t.Fatal(err)
	}
	var pods []string
	for _, p := range list.Items {
		if strings.HasPrefix(p.Name, "web-") {
			pods = append(pods, p.Name)
		}
	}
	if len(pods) < cfg.changeRate {
		t.Fatalf("%d web pods in %s, want at least %d", len(pods), ns, cfg.changeRate)
	}

	var mu sync.Mutex
	seen := map[int]time.Time{}
	var scrapes []time.Duration
	stop := make(chan struct{})
	scraperDone := make(chan error, 1)
	go func() {
		s := newScraper(a.url)
		for {
			select {
			case <-stop:
				scraperDone <- nil
				return
			default:
			}
			res, err := s.scrape(true)
			if err != nil {
				scraperDone <- err
				return
			}
			body, err := s.plain(res, true)
			if err != nil {
				scraperDone <- err
				return
			}
			ids := changeIDs(body, round)
			mu.Lock()
			scrapes = append(scrapes, res.duration)
			for _, id := range ids {
				if _, ok := seen[id]; !ok {
					seen[id] = res.end
				}
			}
			mu.Unlock()
		}
	}()

	acked := make([]time.Time, cfg.changes)
	lastOnPod := map[string]int{}
	next := 0
	c0, t0 := a.cpuSeconds(t), time.Now()
	tick := time.NewTicker(time.Second / time.Duration(cfg.changeRate))
	for i := 0; i < cfg.changes; i++ {
		<-tick.C // pacing of the update stream
		// The next pod whose previous change has been seen.
		var pod string
		for tries := 0; pod == "" && tries < len(pods); tries++ {
			p := pods[next%len(pods)]
			next++
			prev, ok := lastOnPod[p]
			mu.Lock()
			_, done := seen[prev]
			mu.Unlock()
			if !ok || done {
				pod = p
			}
		}
		if pod == "" {
			t.Fatalf("change %d: every one of %d pods still has a change not yet seen", i, len(pods))
		}
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"r%dc%d"}}}`, changeLabel, round, i)
		if _, err := c.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		acked[i] = time.Now()
		lastOnPod[pod] = i
	}
	tick.Stop()
	for deadline := time.Now().Add(time.Minute); ; {
		mu.Lock()
		n := 0
		for i := range acked {
			if _, ok := seen[i]; ok {
				n++
			}
		}
		mu.Unlock()
		if n == len(acked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d changes not on /metrics a minute after the last one", len(acked)-n, len(acked))
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	st := changeStats{N: cfg.changes, RatePerSec: cfg.changeRate}
	st.CPUPerSec = (a.cpuSeconds(t) - c0) / time.Since(t0).Seconds()
	close(stop)
	if err := <-scraperDone; err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	mu.Lock()
	defer mu.Unlock()
	for i, ack := range acked {
		d := seen[i].Sub(ack)
		if d < 0 {
			d, st.Early = 0, st.Early+1
		}
		lat = append(lat, d)
	}
	st.P50ms, st.P99ms, st.Maxms = testenv.QuantileMs(lat, 0.5), testenv.QuantileMs(lat, 0.99), testenv.QuantileMs(lat, 1)
	st.Scrapes = len(scrapes)
	st.ScrapeP50ms, st.ScrapeP99ms = testenv.QuantileMs(scrapes, 0.5), testenv.QuantileMs(scrapes, 0.99)
	return st
}

// changeIDs returns the i of every label_benchrev="r<round>c<i>" in an exposition.
func changeIDs(body []byte, round int64) []int {
	needle := []byte(fmt.Sprintf(`label_%s="r%dc`, changeLabel, round))
	var ids []int
	for {
		j := bytes.Index(body, needle)
		if j < 0 {
			return ids
		}
		body = body[j+len(needle):]
		k := bytes.IndexByte(body, '"')
		if k < 0 {
			return ids
		}
		if id, err := strconv.Atoi(string(body[:k])); err == nil {
			ids = append(ids, id)
		}
		body = body[k:]
	}
}
