package republish

import (
	"bytes"
	"io"
	"net/http"

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
	cw := &chunkWriter{w: w, buf: make([]byte, 0, 64<<10)}
	for _, g := range groups {
		cw.write(g.blocks[0].Header)
		for _, b := range g.blocks {
			cw.write(b.Body)
		}
	}
	cw.flush()
	return skipped, cw.err
}

// GatheredBlocks renders a gatherer's metric families as blocks, so the
// agent's own metrics merge with republished ones of the same name.
func GatheredBlocks(g prometheus.Gatherer) ([]Block, error) {
	mfs, err := g.Gather()
	blocks := make([]Block, 0, len(mfs))
	var buf bytes.Buffer
	for _, mf := range mfs {
		buf.Reset()
		if _, werr := expfmt.MetricFamilyToText(&buf, mf); werr != nil {
			return blocks, werr
		}
		b := append([]byte(nil), buf.Bytes()...)
		split := 0
		for split < len(b) && b[split] == '#' {
			nl := bytes.IndexByte(b[split:], '\n')
			if nl < 0 {
				break
			}
			split += nl + 1
		}
		blocks = append(blocks, Block{
			Name: mf.GetName(), Type: dtoType(mf.GetType()),
			Header: b[:split:split], Body: b[split:], Series: len(mf.Metric),
		})
	}
	return blocks, err
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
		var err error
		if extra, err = GatheredBlocks(h.gatherer); err != nil {
			level.Error(h.logger).Log("msg", "gathering the agent's own metrics failed", "err", err)
		}
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
