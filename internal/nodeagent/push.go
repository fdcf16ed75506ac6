package nodeagent

import (
	"context"
	"errors"
	"io"
	"sort"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/prompb"

	"github.com/kubetopo/kubetopo/internal/push"
	"github.com/kubetopo/kubetopo/internal/republish"
)

// PageSeries converts republished pages to remote-write series: each sample
// keeps its exporter timestamp (cAdvisor's) or gets now. Pages are parsed
// back with Prometheus' text parser, so what is pushed is exactly what is
// served on /metrics.
func PageSeries(pages map[string]*republish.Page, now time.Time) ([]prompb.TimeSeries, error) {
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []prompb.TimeSeries
	st := labels.NewSymbolTable()
	var l labels.Labels
	for _, n := range names {
		for _, b := range pages[n].Blocks {
			if len(b.Body) == 0 {
				continue
			}
			p := textparse.NewPromParser(b.Body, st, false)
			for {
				e, err := p.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return nil, err
				}
				if e != textparse.EntrySeries {
					continue
				}
				_, ts, v := p.Series()
				p.Labels(&l)
				t := now.UnixMilli()
				if ts != nil {
					t = *ts
				}
				pl := make([]prompb.Label, 0, l.Len())
				l.Range(func(x labels.Label) { pl = append(pl, prompb.Label{Name: x.Name, Value: x.Value}) })
				out = append(out, prompb.TimeSeries{Labels: pl, Samples: []prompb.Sample{{Value: v, Timestamp: t}}})
			}
		}
	}
	return out, nil
}

// Pusher sends every scrape round's series to the receiver through a bounded
// queue, in batches.
type Pusher struct {
	q         *push.Queue
	batchSize int
	logger    log.Logger
	now       func() time.Time
}

// NewPusher returns a Pusher over q; batchSize defaults to 2000 series.
func NewPusher(q *push.Queue, batchSize int, logger log.Logger) *Pusher {
	if batchSize <= 0 {
		batchSize = 2000
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &Pusher{q: q, batchSize: batchSize, logger: logger, now: time.Now}
}

// AfterRound is an Options.AfterRound: it queues the round's series. A full
// queue drops the round (counted by the queue); the next round carries
// fresh values.
func (p *Pusher) AfterRound(_ context.Context, pages map[string]*republish.Page) {
	series, err := PageSeries(pages, p.now())
	if err != nil {
		level.Error(p.logger).Log("msg", "converting republished series for remote write", "err", err)
		return
	}
	for i := 0; i < len(series); i += p.batchSize {
		end := min(i+p.batchSize, len(series))
		if err := p.q.Enqueue(series[i:end]); err != nil {
			level.Warn(p.logger).Log("msg", "remote-write queue full; dropping the rest of this round", "err", err)
			return
		}
	}
}
