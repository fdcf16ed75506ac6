package republish

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubetopo/kubetopo/exporter"
)

var textContentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// WritePages writes the blocks of pages, then extra, as one text exposition.
// Blocks of the same family from several sources are merged under the first
// one's header (kubelet /metrics/resource and /metrics/cadvisor both serve
// container_cpu_usage_seconds_total); a block whose type disagrees with the
// first of its family is left out, since one family cannot have two types.
// It returns the number of blocks left out.
func WritePages(w io.Writer, pages []*Page, extra []Block) (skipped int, err error) {
	type group struct{ blocks []*Block }
	idx := map[string]int{}
	var groups []group
	add := func(b *Block) {
		i, ok := idx[b.Name]
		if !ok {
			idx[b.Name] = len(groups)
			groups = append(groups, group{blocks: []*Block{b}})
			return
		}
		if groups[i].blocks[0].Type != b.Type {
			skipped++
			return
		}
		groups[i].blocks = append(groups[i].blocks, b)
	}
	for _, p := range pages {
		for i := range p.Blocks {
			add(&p.Blocks[i])
		}
	}
	for i := range extra {
		add(&extra[i])
	}
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	cw := &chunkWriter{w: w, buf: (*bp)[:0]}
	for _, g := range groups {
		cw.write(g.blocks[0].Header)
		for _, b := range g.blocks {
			cw.write(b.Body)
		}
	}
	cw.flush()
	return skipped, cw.err
}

// chunkBufs holds the 64 KiB buffers WritePages batches its writes in, one
// per response instead of one allocated per scrape.
var chunkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// GatheredBlocks renders a gatherer's metric families as blocks, so the
// agent's own metrics merge with republished ones of the same name.
func GatheredBlocks(g prometheus.Gatherer) ([]Block, error) {
	_, blocks, err := AppendGatheredBlocks(nil, nil, g)
	return blocks, err
}

// AppendGatheredBlocks is GatheredBlocks rendering into buf and blocks,
// whose contents it replaces, so a caller can reuse both across scrapes:
// all families go into one buffer, the blocks are slices of it.
func AppendGatheredBlocks(buf []byte, blocks []Block, g prometheus.Gatherer) ([]byte, []Block, error) {
	mfs, err := g.Gather()
	blocks = slices.Grow(blocks[:0], len(mfs))
	out := bytes.NewBuffer(buf[:0])
	type span struct{ start, split, end int }
	spans := make([]span, 0, len(mfs))
	for _, mf := range mfs {
		start := out.Len()
		if _, werr := expfmt.MetricFamilyToText(out, mf); werr != nil {
			return out.Bytes(), blocks, werr
		}
		b := out.Bytes()[start:]
		split := 0
		for split < len(b) && b[split] == '#' {
			nl := bytes.IndexByte(b[split:], '\n')
			if nl < 0 {
				break
			}
			split += nl + 1
		}
		spans = append(spans, span{start, start + split, out.Len()})
	}
	all := out.Bytes() // the final array: the buffer may have grown meanwhile
	for i, mf := range mfs {
		sp := spans[i]
		blocks = append(blocks, Block{
			Name: mf.GetName(), Type: dtoType(mf.GetType()),
			Header: all[sp.start:sp.split:sp.split], Body: all[sp.split:sp.end:sp.end], Series: len(mf.Metric),
		})
	}
	return all, blocks, err
}

func dtoType(t dto.MetricType) model.MetricType {
	switch t {
	case dto.MetricType_COUNTER:
		return model.MetricTypeCounter
	case dto.MetricType_GAUGE:
		return model.MetricTypeGauge
	case dto.MetricType_SUMMARY:
		return model.MetricTypeSummary
	case dto.MetricType_HISTOGRAM:
		return model.MetricTypeHistogram
	}
	return model.MetricTypeUnknown
}

// Handler serves the republished series followed by a gatherer's (the
// agent's own) metrics, gzip-compressed when the scraper accepts it.
type Handler struct {
	r        *Republisher
	gatherer prometheus.Gatherer
	logger   log.Logger
	gzips    exporter.GzipPool
	scratch  sync.Pool // *gathered, reused across scrapes
}

// gathered is what one response renders the gatherer into.
type gathered struct {
	buf    []byte
	blocks []Block
}

// NewHandler returns the /metrics handler; g may be nil.
func NewHandler(r *Republisher, g prometheus.Gatherer, logger log.Logger) *Handler {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &Handler{r: r, gatherer: g, logger: logger}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var extra []Block
	if h.gatherer != nil {
		sc, _ := h.scratch.Get().(*gathered)
		if sc == nil {
			sc = &gathered{}
		}
		var err error
		if sc.buf, sc.blocks, err = AppendGatheredBlocks(sc.buf, sc.blocks, h.gatherer); err != nil {
			level.Error(h.logger).Log("msg", "gathering the agent's own metrics failed", "err", err)
		}
		extra = sc.blocks
		defer h.scratch.Put(sc)
	}
	w.Header().Set("Content-Type", textContentType)
	out, done := h.gzips.Writer(w, req)
	defer done()
	skipped, err := h.r.Write(out, extra)
	if err != nil {
		level.Debug(h.logger).Log("msg", "writing metrics failed", "err", err)
	}
	if skipped > 0 {
		level.Debug(h.logger).Log("msg", "metric families left out: same name as another source's with another type", "families", skipped)
	}
}

type chunkWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func (c *chunkWriter) write(p []byte) {
	if c.err != nil {
		return
	}
	if len(c.buf)+len(p) > cap(c.buf) {
		c.flush()
		if len(p) > cap(c.buf) {
			_, c.err = c.w.Write(p)
			return
		}
	}
	c.buf = append(c.buf, p...)
}

func (c *chunkWriter) flush() {
	if c.err == nil && len(c.buf) > 0 {
		_, c.err = c.w.Write(c.buf)
	}
	c.buf = c.buf[:0]
}
