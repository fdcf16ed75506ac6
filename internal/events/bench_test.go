package events

import (
	"context"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
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
