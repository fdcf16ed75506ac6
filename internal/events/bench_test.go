package events

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/prompb"

	"github.com/kubetopo/kubetopo/internal/heapstat"
)

type discard struct{}

func (discard) Write(context.Context, []prompb.TimeSeries) error { return nil }

// BenchmarkObserveAndDeliver: one new event observed (attached, categorised,
// counted, queued) and delivered in batches of 500, without a checkpoint file.
func BenchmarkObserveAndDeliver(b *testing.B) {
	p, err := New(Options{Cluster: "c", Writer: discard{}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]Event, b.N)
	for i := range evs {
		evs[i] = ev("uid-"+strconv.Itoa(i), 1, t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range evs {
		p.Observe(SrcEvents, evs[i])
		if i%500 == 499 {
			for p.deliverBatch(context.Background()) {
			}
		}
	}
	for p.deliverBatch(context.Background()) {
	}
}

// BenchmarkObserveUnchanged: a relist, every event seen again at its count.
func BenchmarkObserveUnchanged(b *testing.B) {
	p, err := New(Options{Cluster: "c", Writer: discard{}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	e := ev("a", 1, t0)
	p.Observe(SrcEvents, e)
	for p.deliverBatch(context.Background()) {
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Observe(SrcEvents, e)
	}
}

// totalsKeys returns n series keys shaped as at 10k pods (a pod or container
// URN per series, a handful of reasons), allocated before any baseline.
func totalsKeys(n int) []counterKey {
	reasons := []string{"Scheduled", "Pulled", "Created", "Started", "BackOff"}
	keys := make([]counterKey, n)
	for i := range keys {
		urn := "urn:kubernetes:/bench:ns-" + strconv.Itoa(i/1000) + ":pod/app-" + strconv.Itoa(i/100) + "-5d9c7b8f6-" + strconv.FormatInt(int64(i)*104729%0xfffff, 36)
		if i%5 != 0 {
			urn += ":container/app"
		}
		keys[i] = counterKey{urn: urn, category: string(Activities), reason: reasons[i%5], typ: "Normal"}
	}
	return keys
}

// BenchmarkEventTotals compares, side by side, kubetopo_events_total as a
// client_golang CounterVec gathered and written per scrape (how it was) with
// the pipeline's own rendering (how it is), at 12,000 series: live heap per
// series after a GC, and per scrape time and allocations (-benchmem).
func BenchmarkEventTotals(b *testing.B) {
	const n = 12000
	keys := totalsKeys(n)
	b.Run("impl=countervec", func(b *testing.B) {
		before := heapstat.Live()
		reg := prometheus.NewRegistry()
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: totalName, Help: totalHelp},
			[]string{"cluster", "urn", "category", "reason", "type"})
		reg.MustRegister(vec)
		for i, k := range keys {
			vec.WithLabelValues("bench", k.urn, k.category, k.reason, k.typ).Add(float64(i%9 + 1))
		}
		live := float64(heapstat.Live()-before) / n
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			mfs, err := reg.Gather()
			if err != nil {
				b.Fatal(err)
			}
			for _, mf := range mfs {
				if _, err := expfmt.MetricFamilyToText(io.Discard, mf); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(live, "live-B/series")
	})
	b.Run("impl=rendered", func(b *testing.B) {
		before := heapstat.Live()
		p, err := New(Options{Cluster: "bench", Registerer: prometheus.NewRegistry()})
		if err != nil {
			b.Fatal(err)
		}
		for i, k := range keys {
			p.totals.add(p.totals.acquire(k), int64(i%9+1))
		}
		if err := p.WriteMetrics(io.Discard); err != nil { // sorts once
			b.Fatal(err)
		}
		live := float64(heapstat.Live()-before) / n
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := p.WriteMetrics(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(live, "live-B/series")
	})
}
