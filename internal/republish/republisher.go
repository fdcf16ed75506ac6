package republish

import (
	"context"
	"errors"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Republisher.
type Options struct {
	Logger log.Logger
	// Registerer receives the per-source scrape metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Republisher keeps the last successful page of every source and serves them
// merged. Policy on failure: a failed scrape drops the source's page, so its
// series vanish from /metrics (Prometheus marks them stale) instead of being
// served stale with a fresh scrape time; kubetopo_scrape_source_success says
// why they are missing.
type Republisher struct {
	logger log.Logger
	now    func() time.Time

	mu      sync.RWMutex
	sources map[string]*sourceState
}

type sourceState struct {
	page     *Page // nil after a failure
	success  bool
	duration float64
	failures map[string]float64 // by reason
	last     time.Time
	// bodyBytes is the size of the last body read, the next read's hint.
	bodyBytes int
}

// New returns an empty Republisher.
func New(o Options) (*Republisher, error) {
	r := &Republisher{logger: o.Logger, now: o.Now, sources: map[string]*sourceState{}}
	if r.logger == nil {
		r.logger = log.NewNopLogger()
	}
	if r.now == nil {
		r.now = time.Now
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(&collector{r: r}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Scrape fetches src once and swaps its page in, or drops it on failure. It
// never panics on bad input and returns the failure for callers that want it.
func (r *Republisher) Scrape(ctx context.Context, src Source) error {
	start := r.now()
	r.mu.RLock()
	if st := r.sources[src.Name]; st != nil {
		src.bodyHint = st.bodyBytes
		if st.page != nil {
			src.pageHint = st.page.Bytes
		}
	}
	r.mu.RUnlock()
	page, err := Fetch(ctx, src)
	dur := r.now().Sub(start).Seconds()
	r.mu.Lock()
	st := r.sources[src.Name]
	if st == nil {
		st = &sourceState{failures: map[string]float64{}}
		r.sources[src.Name] = st
	}
	st.duration, st.last = dur, start
	st.success = err == nil
	st.page = page
	if page != nil {
		st.bodyBytes = page.bodyBytes
	}
	if err != nil {
		reason := "other"
		var se *ScrapeError
		if errors.As(err, &se) {
			reason = se.Reason
		}
		st.failures[reason]++
	}
	r.mu.Unlock()
	if err != nil {
		level.Warn(r.logger).Log("msg", "scrape failed; the source's series are dropped until it succeeds", "source", src.Name, "url", src.URL, "duration_seconds", dur, "err", err)
		return err
	}
	level.Debug(r.logger).Log("msg", "scraped", "source", src.Name, "series", page.Series, "bytes", page.Bytes, "duration_seconds", dur)
	return nil
}

// Remove forgets a source (a kube-state-metrics pod that went away): its page
// and its scrape metrics.
func (r *Republisher) Remove(name string) {
	r.mu.Lock()
	delete(r.sources, name)
	r.mu.Unlock()
}

// Run scrapes every source sources() returns every interval, concurrently,
// until ctx ends; sources that sources() stops returning are removed.
func (r *Republisher) Run(ctx context.Context, interval time.Duration, sources func() []Source) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r.ScrapeAll(ctx, sources())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ScrapeAll scrapes srcs concurrently, waits for all of them, and removes the
// sources not among them.
func (r *Republisher) ScrapeAll(ctx context.Context, srcs []Source) {
	keep := make(map[string]bool, len(srcs))
	var wg sync.WaitGroup
	for _, s := range srcs {
		keep[s.Name] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.Scrape(ctx, s)
		}()
	}
	wg.Wait()
	r.mu.Lock()
	for name := range r.sources {
		if !keep[name] {
			delete(r.sources, name)
		}
	}
	r.mu.Unlock()
}

// Pages returns the current page of every source that has one, by name.
func (r *Republisher) Pages() map[string]*Page {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m := make(map[string]*Page, len(r.sources))
	for n, st := range r.sources {
		if st.page != nil {
			m[n] = st.page
		}
	}
	return m
}

// Write writes every source's page, merged by family, then extra (see
// WritePages); it returns the number of blocks left out for a type clash.
func (r *Republisher) Write(w io.Writer, extra []Block) (skipped int, err error) {
	return WritePages(w, r.sortedPages(), extra)
}

// sortedPages returns the pages in source-name order, so output is stable.
func (r *Republisher) sortedPages() []*Page {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.sources))
	for n, st := range r.sources {
		if st.page != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	pages := make([]*Page, len(names))
	for i, n := range names {
		pages[i] = r.sources[n].page
	}
	return pages
}

var (
	descSuccess = prometheus.NewDesc("kubetopo_scrape_source_success",
		"Whether the last scrape of the source succeeded (1) or failed (0); after a failure its series are not republished.",
		[]string{"source"}, nil)
	descDuration = prometheus.NewDesc("kubetopo_scrape_source_duration_seconds",
		"Duration of the last scrape of the source, including parsing and rendering.", []string{"source"}, nil)
	descSeries = prometheus.NewDesc("kubetopo_scrape_source_series",
		"Series republished from the source's last successful scrape (0 after a failure).", []string{"source"}, nil)
	descBytes = prometheus.NewDesc("kubetopo_scrape_source_rendered_bytes",
		"Size of the source's republished series as rendered text exposition.", []string{"source"}, nil)
	descFailures = prometheus.NewDesc("kubetopo_scrape_source_failures_total",
		"Failed scrapes of the source by reason (connect, http_status, too_large, read, parse, duplicate, invalid_name, token).",
		[]string{"source", "reason"}, nil)
	descLast = prometheus.NewDesc("kubetopo_scrape_source_last_scrape_timestamp_seconds",
		"When the last scrape of the source started.", []string{"source"}, nil)
)

// collector reports the sources' scrape health the way node_exporter reports
// its collectors'.
type collector struct{ r *Republisher }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSuccess, descDuration, descSeries, descBytes, descFailures, descLast} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.r.mu.RLock()
	defer c.r.mu.RUnlock()
	for name, st := range c.r.sources {
		ok, series, bytes := 0.0, 0.0, 0.0
		if st.success {
			ok = 1
		}
		if st.page != nil {
			series, bytes = float64(st.page.Series), float64(st.page.Bytes)
		}
		ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, ok, name)
		ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, st.duration, name)
		ch <- prometheus.MustNewConstMetric(descSeries, prometheus.GaugeValue, series, name)
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, bytes, name)
		ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, float64(st.last.UnixNano())/1e9, name)
		for reason, n := range st.failures {
			ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, n, name, reason)
		}
	}
}
