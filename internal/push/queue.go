package push

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
)

// ErrQueueFull is returned by Enqueue when the queue holds Capacity batches.
var ErrQueueFull = errors.New("remote write queue is full")

// Queue sends batches through a Client in order, one at a time, holding at
// most capacity batches: memory stays bounded while the receiver is away.
// Enqueue never blocks: a full queue refuses the batch (ErrQueueFull, counted
// in kubetopo_remote_write_samples_dropped_total), and the caller decides
// whether to drop it or offer it again.
type Queue struct {
	c       *Client
	ch      chan []prompb.TimeSeries
	dropped prometheus.Counter
}

// NewQueue returns a queue of at most capacity batches (at least 1) and
// registers its length gauge and drop counter.
func NewQueue(c *Client, capacity int, reg prometheus.Registerer) (*Queue, error) {
	q := &Queue{c: c, ch: make(chan []prompb.TimeSeries, max(capacity, 1))}
	length := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "kubetopo_remote_write_queue_length",
		Help:        "Batches waiting to be sent.",
		ConstLabels: prometheus.Labels{"stream": c.opts.Stream},
	}, func() float64 { return float64(len(q.ch)) })
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kubetopo_remote_write_samples_dropped_total",
		Help: "Samples not queued because the queue was full.",
	}, []string{"stream"})
	if err := reg.Register(length); err != nil {
		return nil, err
	}
	dv, err := registerVec(reg, dropped)
	if err != nil {
		return nil, err
	}
	q.dropped = dv.WithLabelValues(c.opts.Stream)
	return q, nil
}

// Enqueue adds a batch, or returns ErrQueueFull.
func (q *Queue) Enqueue(series []prompb.TimeSeries) error {
	select {
	case q.ch <- series:
		return nil
	default:
		n := 0
		for i := range series {
			n += len(series[i].Samples)
		}
		q.dropped.Add(float64(n))
		return ErrQueueFull
	}
}

// Len returns the number of queued batches.
func (q *Queue) Len() int { return len(q.ch) }

// Run sends queued batches until ctx ends; a batch being retried when ctx
// ends is abandoned (the caller's data source still has it).
func (q *Queue) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-q.ch:
			_ = q.c.Write(ctx, b) // Write logs and counts failures
		}
	}
}
