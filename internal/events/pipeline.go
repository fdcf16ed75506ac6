package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubetopo/kubetopo/topology"
)

// Sources of events, each with its own informer.
const (
	SrcEvents = "events" // Kubernetes Event objects
	SrcOOM    = "oom"    // synthesised from pods' container statuses
)

// Writer delivers series to the receiver. Write returns nil once the
// receiver acknowledged them; an error with a Permanent() method returning
// true when the receiver refused them for good (they are not retried); any
// other error only when ctx ended (it retries transient failures itself).
type Writer interface {
	Write(ctx context.Context, series []prompb.TimeSeries) error
}

// Options configure a Pipeline.
type Options struct {
	Cluster     string
	Categorizer *Categorizer // nil: the seed's table only
	// Writer delivers events; nil counts them only.
	Writer Writer
	// CheckpointFile keeps what was counted and delivered across restarts;
	// empty keeps it in memory only.
	CheckpointFile string
	BatchSize      int           // series per remote-write request; default 500
	MessageMax     int           // bytes of the message label; default DefaultMessageMax
	FlushInterval  time.Duration // how often counts alone are checkpointed; default 5s
	Logger         log.Logger
	Registerer     prometheus.Registerer
}

// Pipeline counts events and delivers each new occurrence once.
type Pipeline struct {
	opts    Options
	urns    topology.URNs
	logger  log.Logger
	m       *pipelineMetrics
	notify  chan struct{}
	scrapes sync.Pool // *scrapeScratch, for WriteMetrics

	mu       sync.Mutex
	state    map[string]*entry
	pending  map[string]Event // newest undelivered state per UID
	inflight map[string]int64 // UID → count being sent
	totals   *totals
	seen     map[string]map[string]bool // src → owners seen before SyncDone(src)
	dirty    bool
}

// New returns a Pipeline, reading the checkpoint file if there is one. A
// checkpoint that cannot be read is logged and moved aside: the pipeline then
// starts empty, which can deliver events again but loses none.
func New(opts Options) (*Pipeline, error) {
	if opts.Cluster == "" {
		return nil, errors.New("events: cluster name is empty")
	}
	if opts.Categorizer == nil {
		opts.Categorizer = NewCategorizer(nil)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.MessageMax == 0 {
		opts.MessageMax = DefaultMessageMax
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	p := &Pipeline{
		opts: opts, urns: topology.NewURNs(opts.Cluster), logger: opts.Logger,
		notify: make(chan struct{}, 1), state: map[string]*entry{}, pending: map[string]Event{},
		inflight: map[string]int64{}, totals: newTotals(opts.Cluster),
		seen: map[string]map[string]bool{SrcEvents: {}, SrcOOM: {}},
	}
	p.m = newPipelineMetrics(p)
	if err := p.m.register(opts.Registerer); err != nil {
		return nil, err
	}
	if opts.CheckpointFile != "" {
		st, err := readCheckpoint(opts.CheckpointFile)
		if err != nil {
			aside := opts.CheckpointFile + ".bad"
			level.Warn(p.logger).Log("msg", "cannot use the event checkpoint, starting without it (events still in the apiserver are delivered again)", "err", err, "moved_to", aside)
			_ = os.Rename(opts.CheckpointFile, aside)
			st = map[string]*entry{}
		}
		if err := checkWritable(opts.CheckpointFile); err != nil {
			return nil, fmt.Errorf("--events.checkpoint-file: %w", err)
		}
		p.state = st
		p.dirty = len(st) > 0
		level.Info(p.logger).Log("msg", "event checkpoint loaded", "file", opts.CheckpointFile, "events", len(st))
	}
	return p, nil
}

// Observe takes one state of an event from src: it attaches and categorises
// it, counts its new occurrences and queues it for delivery when the receiver
// has not had this count yet.
func (p *Pipeline) Observe(src string, ev Event) {
	ev.Attach(p.urns, p.opts.Categorizer)
	if ev.UID == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.seen[src]; s != nil {
		s[ev.Owner] = true
	}
	e := p.state[ev.UID]
	if e == nil {
		e = &entry{Owner: ev.Owner, Src: src}
		p.state[ev.UID] = e
	}
	if e.series == nil {
		e.series = p.totals.acquire(counterKey{ev.URN, string(ev.Category), ev.Reason, ev.Type})
	}
	if ev.Count > e.Counted {
		if e.Counted == 0 && ev.URN == "" {
			p.m.unmapped.WithLabelValues(ev.Involved.Kind).Inc()
		}
		p.totals.add(e.series, ev.Count-e.Counted)
		e.Counted = ev.Count
		p.dirty = true
	}
	if p.opts.Writer == nil || ev.Count <= max(e.Delivered, e.refused) || ev.Count <= p.inflight[ev.UID] {
		return
	}
	if q, ok := p.pending[ev.UID]; ok && q.Count >= ev.Count {
		return
	}
	p.pending[ev.UID] = ev
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// ObservePod synthesises the pod's OOM events and observes them.
func (p *Pipeline) ObservePod(pod *corev1.Pod) {
	for _, ev := range OOMEvents(pod) {
		p.Observe(SrcOOM, ev)
	}
}

// Forget retires the entries owned by owner (an event or a pod that was
// deleted): they are no longer checkpointed, and their counter series goes
// when the last event in it does. Undelivered ones are still delivered.
func (p *Pipeline) Forget(src, owner string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for uid, e := range p.state {
		if e.Src == src && e.Owner == owner {
			p.retire(uid, e)
		}
	}
}

// retire drops an entry unless it still waits for delivery.
func (p *Pipeline) retire(uid string, e *entry) {
	_, queued := p.pending[uid]
	_, sending := p.inflight[uid]
	if queued || sending {
		e.gone = true
		return
	}
	delete(p.state, uid)
	p.dirty = true
	if e.series != nil {
		p.totals.release(e.series)
		e.series = nil
	}
}

// SyncDone tells that src's informer has delivered its initial list: entries
// of the checkpoint whose owner was not in it no longer exist and are dropped.
func (p *Pipeline) SyncDone(src string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := p.seen[src]
	if seen == nil {
		return
	}
	dropped := 0
	for uid, e := range p.state {
		if e.Src == src && !seen[e.Owner] {
			p.retire(uid, e)
			dropped++
		}
	}
	delete(p.seen, src)
	level.Debug(p.logger).Log("msg", "initial list observed", "source", src, "gone_since_checkpoint", dropped)
}

// WriteMetrics writes kubetopo_events_total in the Prometheus text format,
// for /metrics (exporter.Handler.WithFamilies). Nothing else writes it: the
// family is in no registry.
//
// The mutex is held only to copy the counts: writing to a slow scraper
// does not hold up Observe.
func (p *Pipeline) WriteMetrics(w io.Writer) error {
	sc, _ := p.scrapes.Get().(*scrapeScratch)
	if sc == nil {
		sc = &scrapeScratch{buf: make([]byte, 0, 64<<10)}
	}
	defer p.scrapes.Put(sc)
	p.mu.Lock()
	sc.snap = p.totals.snapshot(sc.snap[:0])
	p.mu.Unlock()
	err := p.totals.write(w, sc.buf, sc.snap)
	clear(sc.snap) // keep no released series alive
	return err
}

// scrapeScratch is what WriteMetrics reuses across scrapes.
type scrapeScratch struct {
	buf  []byte
	snap []sample
}

// Delivers reports whether the pipeline delivers events (it has a Writer);
// when it does not, it never reads their messages.
func (p *Pipeline) Delivers() bool { return p.opts.Writer != nil }

// Pending returns how many events wait for delivery (in flight or queued).
func (p *Pipeline) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending) + len(p.inflight)
}

// Run delivers queued events and keeps the checkpoint until ctx ends, then
// writes the checkpoint a last time.
func (p *Pipeline) Run(ctx context.Context) error {
	tick := time.NewTicker(p.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.flush()
			return nil
		case <-p.notify:
		case <-tick.C:
		}
		for p.deliverBatch(ctx) {
		}
		p.flush()
	}
}

// deliverBatch sends up to BatchSize queued events, oldest first; it reports
// whether more may be queued.
func (p *Pipeline) deliverBatch(ctx context.Context) bool {
	if p.opts.Writer == nil || ctx.Err() != nil {
		return false
	}
	p.mu.Lock()
	if len(p.pending) == 0 {
		p.mu.Unlock()
		return false
	}
	batch := make([]Event, 0, len(p.pending))
	for _, ev := range p.pending {
		batch = append(batch, ev)
	}
	sort.Slice(batch, func(i, j int) bool {
		if !batch[i].Last.Equal(batch[j].Last) {
			return batch[i].Last.Before(batch[j].Last)
		}
		return batch[i].UID < batch[j].UID
	})
	if len(batch) > p.opts.BatchSize {
		batch = batch[:p.opts.BatchSize]
	}
	series := make([]prompb.TimeSeries, len(batch))
	ts := make([]int64, len(batch))
	for i, ev := range batch {
		delete(p.pending, ev.UID)
		p.inflight[ev.UID] = ev.Count
		ts[i] = ev.Last.UnixMilli()
		if e := p.state[ev.UID]; e != nil && ts[i] <= e.SentMS {
			ts[i] = e.SentMS + 1
		}
		series[i] = Series(p.opts.Cluster, ev, p.opts.MessageMax, ts[i])
	}
	p.mu.Unlock()

	outcome := make([]int, len(batch))
	err := p.write(ctx, batch, series, 0, len(series), outcome)

	p.mu.Lock()
	defer p.mu.Unlock()
	delivered, refused := 0, 0
	for i, ev := range batch {
		delete(p.inflight, ev.UID)
		if outcome[i] == notAcked {
			// Not acknowledged (we are stopping): back in the queue unless a
			// newer state came in meanwhile; the checkpoint does not have it.
			if q, ok := p.pending[ev.UID]; !ok || q.Count < ev.Count {
				p.pending[ev.UID] = ev
			}
			continue
		}
		if outcome[i] == acked {
			delivered++
		} else {
			refused++
		}
		e := p.state[ev.UID]
		if e == nil {
			continue
		}
		if outcome[i] == refusedForGood {
			e.refused = max(e.refused, ev.Count)
		} else {
			e.Delivered = max(e.Delivered, ev.Count)
			e.SentMS = max(e.SentMS, ts[i])
		}
		if e.gone {
			p.retire(ev.UID, e)
		}
	}
	p.m.delivered.Add(float64(delivered))
	p.m.refused.Add(float64(refused))
	if delivered+refused > 0 {
		p.dirty = true
		p.saveLocked()
	}
	return err == nil && len(p.pending) > 0
}

// splittable reports whether a refusal may be about some of the series
// (400 Bad Request: a malformed or too old sample) rather than the request
// (401, 403, 404, 413, 415 ...).
func splittable(err error) bool {
	var st interface{ HTTPStatus() int }
	if !errors.As(err, &st) {
		return true
	}
	return st.HTTPStatus() == 400 || st.HTTPStatus() == 422
}

// Outcomes of one event of a batch.
const (
	notAcked = iota
	acked
	refusedForGood
)

// write sends series[lo:hi]. When the receiver refuses a batch for good, the
// batch is split in halves and each sent again, down to single events: one
// event a receiver cannot take (e.g. too old for a Prometheus TSDB) must not
// take the others with it. It returns an error only when ctx ended; outcome
// tells what became of each event.
func (p *Pipeline) write(ctx context.Context, batch []Event, series []prompb.TimeSeries, lo, hi int, outcome []int) error {
	err := p.opts.Writer.Write(ctx, series[lo:hi])
	var perm interface{ Permanent() bool }
	switch {
	case err == nil:
		for i := lo; i < hi; i++ {
			outcome[i] = acked
		}
		return nil
	case !errors.As(err, &perm) || !perm.Permanent():
		return err
	case hi-lo == 1:
		outcome[lo] = refusedForGood
		ev := batch[lo]
		level.Error(p.logger).Log("msg", "the receiver refused an event; this run does not send it again", "uid", ev.UID, "reason", ev.Reason,
			"urn", ev.URN, "count", ev.Count, "last_seen", ev.Last, "err", err)
		return nil
	case !splittable(err):
		// Wrong key, wrong URL, too large: about the request, not one event.
		for i := lo; i < hi; i++ {
			outcome[i] = refusedForGood
		}
		level.Error(p.logger).Log("msg", "the receiver refused a batch of events; this run does not send them again", "events", hi-lo, "err", err)
		return nil
	}
	mid := lo + (hi-lo)/2
	if err := p.write(ctx, batch, series, lo, mid, outcome); err != nil {
		return err
	}
	return p.write(ctx, batch, series, mid, hi, outcome)
}

func (p *Pipeline) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dirty {
		p.saveLocked()
	}
}

// saveLocked writes the checkpoint; p.mu is held.
func (p *Pipeline) saveLocked() {
	if p.opts.CheckpointFile == "" {
		p.dirty = false
		return
	}
	b, err := json.Marshal(checkpointFile{Version: checkpointVersion, Events: p.state})
	if err == nil {
		err = writeCheckpoint(p.opts.CheckpointFile, b)
	}
	if err != nil {
		p.m.checkpointErrors.Inc()
		level.Error(p.logger).Log("msg", "cannot write the event checkpoint; after a restart, events may be delivered again", "err", err)
		return
	}
	p.m.checkpointWrites.Inc()
	p.dirty = false
}
