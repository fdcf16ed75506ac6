// Package republish scrapes Prometheus exposition from sources (a kubelet's
// endpoints, kube-state-metrics, later the apiserver) and republishes every
// series on one /metrics page with a `cluster` label and the `urn` of the
// topology component it describes, keeping names, types, help and units.
//
// Parsing is Prometheus' own (model/textparse: text, OpenMetrics, protobuf).
// Each source's output is rendered once per scrape into a Page — text
// exposition split into metric-family blocks — and swapped in atomically, so
// serving /metrics only copies bytes. A source's scrape fails as a unit
// (connection, TLS, HTTP status, size limit, parse error, duplicate series,
// invalid names): its page is dropped, never served stale, and the failure is
// a metric (kubetopo_scrape_source_success{source} 0) and a log line; other
// sources are unaffected.
package republish

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/kubetopo/kubetopo/exporter"
)

// Resolver returns the URN of the component a series describes, or "" when it
// describes none. family is the series' metric family name as the source
// declared it (its TYPE/HELP name, e.g. "kube_pod_info" or
// "container_cpu_usage_seconds_total"); l holds the series' original labels,
// including __name__. A Resolver must be safe for concurrent use.
type Resolver func(family string, l labels.Labels) string

// RenderOptions say how one source's series are republished.
type RenderOptions struct {
	// Cluster is the value of the `cluster` label added to every series.
	Cluster string
	// Resolve gives the `urn` label; nil or "" means no urn.
	Resolve Resolver
	// Labels are added to every series after cluster and urn (e.g.
	// metrics_path="/metrics/cadvisor" to keep kubelet endpoints apart).
	Labels []labels.Label
	// FallbackContentType parses a body whose Content-Type is missing or
	// unknown; "text/plain" when empty.
	FallbackContentType string
}

// Block is one metric family of a page: its header lines (HELP, TYPE, UNIT)
// and its series lines, rendered as text exposition.
type Block struct {
	Name   string
	Type   model.MetricType
	Header []byte
	Body   []byte
	Series int
}

// Page is what one scrape of one source renders to.
type Page struct {
	Blocks []Block
	// Series is the number of series (sample lines: a histogram's buckets,
	// sum and count are several) on the page.
	Series int
	// Bytes is the size of the rendered page.
	Bytes int

	bodyBytes int // the size of the exposition it was rendered from
}

// reserved label names, renamed exported_<name> when a series already has them.
const (
	LabelCluster = "cluster"
	LabelURN     = "urn"
)

// ErrDuplicateSeries and ErrInvalidName classify a rejected exposition.
var (
	ErrDuplicateSeries = errors.New("duplicate series")
	ErrInvalidName     = errors.New("invalid metric or label name")
)

// Render parses body (served with contentType) and renders its series with
// the cluster, urn and extra labels added. It fails, rendering nothing, on a
// parse error, a duplicate series or a name the text format cannot carry.
func Render(body []byte, contentType string, o RenderOptions) (*Page, error) {
	return render(body, contentType, o, 0)
}

// render is Render with the size of the source's last page, when known, as
// the size of the buffer to render into: the page then takes one
// allocation of about its size instead of a growing buffer and a copy.
func render(body []byte, contentType string, o RenderOptions, sizeHint int) (*Page, error) {
	fallback := o.FallbackContentType
	if fallback == "" {
		fallback = "text/plain"
	}
	p, err := textparse.New(body, contentType, labels.NewSymbolTable(), textparse.ParserOptions{
		FallbackContentType:     fallback,
		OpenMetricsSkipSTSeries: true, // _created series have no place in the text format
		IgnoreNativeHistograms:  true, // the text format carries classic buckets only
	})
	if p == nil {
		return nil, fmt.Errorf("no parser for Content-Type %q: %w", contentType, err)
	}
	size := len(body) + len(body)/2
	if sizeHint > 0 {
		size = sizeHint + sizeHint/16 + 512
	}
	r := renderer{o: o, reserved: reservedNames(o), buf: make([]byte, 0, size)}
	r.openMetrics = strings.HasPrefix(contentType, "application/openmetrics-text")
	r.seen = make(map[uint64]struct{}, len(body)/128)
	var lset labels.Labels
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parsing: %w", err)
		}
		switch e {
		case textparse.EntryHelp:
			name, help := p.Help()
			r.header(string(name)).help = string(help)
		case textparse.EntryType:
			name, typ := p.Type()
			r.header(string(name)).typ = typ
		case textparse.EntryUnit:
			name, unit := p.Unit()
			r.header(string(name)).unit = string(unit)
		case textparse.EntrySeries:
			_, ts, v := p.Series()
			p.Labels(&lset)
			if err := r.series(lset, ts, v); err != nil {
				return nil, err
			}
		case textparse.EntryHistogram:
			// Not reached with IgnoreNativeHistograms; a native-only
			// histogram has no text form.
			r.skipped++
		}
	}
	return r.finish(), nil
}

type famState struct {
	name, help, unit string
	typ              model.MetricType
	hasType, started bool
}

type renderer struct {
	o           RenderOptions
	openMetrics bool
	reserved    map[string]bool
	buf         []byte
	blocks      []blockRange
	cur         *famState
	seen        map[uint64]struct{}
	nseries     int
	skipped     int
}

// blockRange locates a block in the shared buffer while rendering.
type blockRange struct {
	name                 string
	typ                  model.MetricType
	headStart, bodyStart int
	end, series          int
}

func reservedNames(o RenderOptions) map[string]bool {
	m := map[string]bool{LabelCluster: true, LabelURN: true}
	for _, l := range o.Labels {
		m[l.Name] = true
	}
	return m
}

// header returns the state of the family a HELP/TYPE/UNIT line names,
// starting a new family unless it continues the current header.
func (r *renderer) header(name string) *famState {
	if r.cur == nil || r.cur.name != name || r.cur.started {
		r.closeBlock()
		r.cur = &famState{name: name, typ: model.MetricTypeUnknown}
	}
	return r.cur
}

// belongs reports whether a sample named metric is part of family f.
func belongs(f *famState, metric string) bool {
	if metric == f.name {
		return true
	}
	suffix, ok := strings.CutPrefix(metric, f.name)
	if !ok {
		return false
	}
	switch f.typ {
	case model.MetricTypeCounter:
		return suffix == "_total"
	case model.MetricTypeInfo:
		return suffix == "_info"
	case model.MetricTypeHistogram:
		return suffix == "_bucket" || suffix == "_sum" || suffix == "_count"
	case model.MetricTypeGaugeHistogram:
		return suffix == "_bucket" || suffix == "_gsum" || suffix == "_gcount"
	case model.MetricTypeSummary:
		return suffix == "_sum" || suffix == "_count"
	}
	return false
}

func (r *renderer) series(l labels.Labels, ts *int64, v float64) error {
	metric := l.Get(labels.MetricName)
	if !model.LegacyValidation.IsValidMetricName(metric) {
		return fmt.Errorf("%w: metric %q", ErrInvalidName, metric)
	}
	if r.cur == nil || !belongs(r.cur, metric) {
		// A series without HELP/TYPE (or of another family): untyped.
		r.closeBlock()
		r.cur = &famState{name: metric, typ: model.MetricTypeUnknown}
	}
	if !r.cur.started {
		r.startBlock()
	}
	h := l.Hash()
	if _, dup := r.seen[h]; dup {
		return fmt.Errorf("%w: %s", ErrDuplicateSeries, l.String())
	}
	r.seen[h] = struct{}{}

	var family string
	if r.cur.typ != model.MetricTypeUnknown || r.cur.name != metric {
		family = r.cur.name
	} else {
		family = metric
	}
	urn := ""
	if r.o.Resolve != nil {
		urn = r.o.Resolve(family, l)
	}
	b := append(r.buf, metric...)
	b = append(b, '{')
	b = appendLabel(b, LabelCluster, r.o.Cluster)
	if urn != "" {
		b = append(b, ',')
		b = appendLabel(b, LabelURN, urn)
	}
	for _, x := range r.o.Labels {
		b = append(b, ',')
		b = appendLabel(b, x.Name, x.Value)
	}
	var bad string
	l.Range(func(x labels.Label) {
		if x.Name == labels.MetricName {
			return
		}
		if !model.LegacyValidation.IsValidLabelName(x.Name) {
			bad = x.Name
			return
		}
		b = append(b, ',')
		if r.reserved[x.Name] {
			b = append(b, exportedName(x.Name, l, r.reserved)...)
			b = append(b, '=', '"')
			b = exporter.AppendLabelValue(b, x.Value)
			b = append(b, '"')
			return
		}
		b = appendLabel(b, x.Name, x.Value)
	})
	if bad != "" {
		return fmt.Errorf("%w: label %q of %s", ErrInvalidName, bad, metric)
	}
	b = append(b, '}', ' ')
	b = exporter.AppendFloat(b, v)
	if ts != nil {
		b = append(b, ' ')
		b = strconv.AppendInt(b, *ts, 10)
	}
	r.buf = append(b, '\n')
	r.nseries++
	r.blocks[len(r.blocks)-1].series++
	return nil
}

// exportedName is "exported_"+name, prefixed again while that name is taken,
// as Prometheus does for target labels with honor_labels: false.
func exportedName(name string, l labels.Labels, reserved map[string]bool) string {
	n := "exported_" + name
	for l.Has(n) || reserved[n] {
		n = "exported_" + n
	}
	return n
}

// startBlock writes the current family's header and opens its block.
func (r *renderer) startBlock() {
	f := r.cur
	f.started = true
	name, typ := f.name, f.typ
	// The text format names a counter's family after its samples: an
	// OpenMetrics counter "foo" with samples foo_total becomes foo_total.
	switch typ {
	case model.MetricTypeCounter:
		if r.openMetrics {
			name += "_total"
		}
	case model.MetricTypeInfo:
		name += "_info"
		typ = model.MetricTypeGauge
	case model.MetricTypeStateset:
		typ = model.MetricTypeGauge
	case model.MetricTypeGaugeHistogram:
		typ = model.MetricTypeUnknown
	}
	if typ == "" {
		typ = model.MetricTypeUnknown
	}
	br := blockRange{name: name, typ: typ, headStart: len(r.buf)}
	if f.help != "" {
		r.buf = append(r.buf, "# HELP "...)
		r.buf = append(r.buf, name...)
		r.buf = append(r.buf, ' ')
		r.buf = exporter.AppendHelp(r.buf, f.help)
		r.buf = append(r.buf, '\n')
	}
	if typ != model.MetricTypeUnknown {
		r.buf = append(r.buf, "# TYPE "...)
		r.buf = append(r.buf, name...)
		r.buf = append(r.buf, ' ')
		r.buf = append(r.buf, typ...)
		r.buf = append(r.buf, '\n')
	}
	if f.unit != "" {
		// The text format has no UNIT line; parsers of it skip comments, so
		// the unit is kept for readers without breaking any of them.
		r.buf = append(r.buf, "# UNIT "...)
		r.buf = append(r.buf, name...)
		r.buf = append(r.buf, ' ')
		r.buf = append(r.buf, f.unit...)
		r.buf = append(r.buf, '\n')
	}
	br.bodyStart = len(r.buf)
	r.blocks = append(r.blocks, br)
}

// closeBlock ends the current family; a family declared without series still
// gets its header, as the source served it.
func (r *renderer) closeBlock() {
	if r.cur != nil && !r.cur.started {
		r.startBlock()
	}
	if r.cur != nil && len(r.blocks) > 0 {
		r.blocks[len(r.blocks)-1].end = len(r.buf)
	}
	r.cur = nil
}

func (r *renderer) finish() *Page {
	r.closeBlock()
	// The page lives until the next scrape: it keeps the render buffer when
	// that is about the page's size, else an exact copy (a buffer that grew
	// can be twice what it holds).
	buf := r.buf
	if cap(buf)-len(buf) > len(buf)/8+4096 {
		buf = make([]byte, len(r.buf))
		copy(buf, r.buf)
	}
	pg := &Page{Blocks: make([]Block, len(r.blocks)), Series: r.nseries, Bytes: len(buf)}
	for i, br := range r.blocks {
		pg.Blocks[i] = Block{
			Name: br.name, Type: br.typ, Series: br.series,
			Header: buf[br.headStart:br.bodyStart:br.bodyStart],
			Body:   buf[br.bodyStart:br.end:br.end],
		}
	}
	return pg
}

func appendLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	b = exporter.AppendLabelValue(b, value)
	return append(b, '"')
}
