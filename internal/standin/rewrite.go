// Package standin serves recorded Prometheus expositions (a kubelet's,
// kube-state-metrics', cAdvisor's) over HTTP or HTTPS, with label values
// rewritten so that a recording made on one cluster describes the objects of
// another: the fixture's pod, namespace, node and container names become a
// live test cluster's real ones. It is test support: the recorded bytes stay
// the exporter's, only label values change, and nothing is typed by hand.
//
// Typical use:
//
//	rw := standin.Rewriter{Values: map[string]string{"kwok-node-0": node.Name}, Labels: map[string]map[string]string{"pod": pods}}
//	page, err := rw.Rewrite(recorded)               // or rw.Replicate(recorded, mappings) to scale up
//	srv, err := standin.Start(standin.Options{Pages: map[string][]byte{"/metrics": page}, TLS: true, BearerToken: "t"})
//	defer srv.Close()
//	// scrape srv.URL+"/metrics" trusting srv.CertPool, with "Authorization: Bearer t"
package standin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/kubetopo/kubetopo/exporter"
)

// Rewriter rewrites label values of a text-format exposition.
type Rewriter struct {
	// Values maps an old label value to a new one, whatever the label.
	Values map[string]string
	// Labels maps, per label name, old values to new ones; it wins over Values.
	Labels map[string]map[string]string
	// Required names labels whose value must be mapped (by Labels or Values):
	// a series carrying such a label with an unmapped, non-empty value is
	// dropped, so that no series describes an object the target cluster does
	// not have.
	Required []string
	// Drop, when it returns true for a series (its rewritten labels,
	// including __name__), leaves the series out.
	Drop func(l labels.Labels) bool
	// TimestampsAt, when not zero, shifts every sample timestamp by the same
	// amount so that the newest one is this time: a recording's timestamps
	// (cAdvisor's, the kubelet's) then look current to a Prometheus, which
	// would reject samples hours old.
	TimestampsAt time.Time
}

func (r *Rewriter) mapValue(name, value string) (string, bool) {
	if m, ok := r.Labels[name]; ok {
		if v, ok := m[value]; ok {
			return v, true
		}
	}
	if v, ok := r.Values[value]; ok {
		return v, true
	}
	return value, false
}

func (r *Rewriter) required(name string) bool {
	for _, n := range r.Required {
		if n == name {
			return true
		}
	}
	return false
}

// Rewrite returns exp (Prometheus text format 0.0.4) with label values mapped.
// Comments, HELP and TYPE lines are kept; timestamps are kept.
func (r Rewriter) Rewrite(exp []byte) ([]byte, error) {
	return r.Replicate(exp, []Rewriter{r})
}

// Replicate renders every series of exp once per rewriter in copies, under a
// single HELP/TYPE header per family: it scales a recording up, e.g. a
// kubelet's series for 10 pods into those for 100 pods with 10 mappings.
// The receiver's own mappings are ignored; each copy uses one element of
// copies. Series that two copies render alike are written once.
func (Rewriter) Replicate(exp []byte, copies []Rewriter) ([]byte, error) {
	fams, err := parse(exp)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(exp) * len(copies))
	seen := map[string]bool{}
	var newest int64
	for _, f := range fams {
		for _, s := range f.series {
			if s.ts != nil && *s.ts > newest {
				newest = *s.ts
			}
		}
	}
	for _, f := range fams {
		out.Write(f.header)
		for i := range copies {
			c := &copies[i]
			var shift int64
			if !c.TimestampsAt.IsZero() && newest != 0 {
				shift = c.TimestampsAt.UnixMilli() - newest
			}
			for _, s := range f.series {
				if shift != 0 && s.ts != nil {
					t := *s.ts + shift
					s.ts = &t
				}
				line, ok := c.render(s)
				if !ok || seen[string(line)] {
					continue
				}
				seen[string(line)] = true
				out.Write(line)
			}
		}
	}
	return out.Bytes(), nil
}

type series struct {
	lset  labels.Labels
	ts    *int64
	value float64
}

type family struct {
	header []byte
	series []series
}

// parse splits exp into families in order, with Prometheus' own text parser.
func parse(exp []byte) ([]family, error) {
	p := textparse.NewPromParser(exp, labels.NewSymbolTable(), false)
	var fams []family
	cur := func() *family {
		if len(fams) == 0 {
			fams = append(fams, family{})
		}
		return &fams[len(fams)-1]
	}
	newHeader := func() *family {
		if f := cur(); len(f.series) > 0 || len(fams) == 0 {
			fams = append(fams, family{})
		}
		return cur()
	}
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parsing the recorded exposition: %w", err)
		}
		switch e {
		case textparse.EntryHelp:
			name, help := p.Help()
			f := newHeader()
			f.header = fmt.Appendf(f.header, "# HELP %s %s\n", name, exporter.AppendHelp(nil, string(help)))
		case textparse.EntryType:
			name, typ := p.Type()
			f := newHeader()
			f.header = fmt.Appendf(f.header, "# TYPE %s %s\n", name, typ)
		case textparse.EntrySeries:
			_, ts, v := p.Series()
			var l labels.Labels
			p.Labels(&l)
			var tsCopy *int64
			if ts != nil {
				t := *ts
				tsCopy = &t
			}
			f := cur()
			f.series = append(f.series, series{lset: l, ts: tsCopy, value: v})
		}
	}
	return fams, nil
}

func (r *Rewriter) render(s series) ([]byte, bool) {
	b := labels.NewBuilder(s.lset)
	ok := true
	s.lset.Range(func(l labels.Label) {
		if l.Name == labels.MetricName {
			return
		}
		v, mapped := r.mapValue(l.Name, l.Value)
		if !mapped && l.Value != "" && r.required(l.Name) {
			ok = false
		}
		b.Set(l.Name, v)
	})
	if !ok {
		return nil, false
	}
	l := b.Labels()
	if r.Drop != nil && r.Drop(l) {
		return nil, false
	}
	return AppendSeries(nil, l, s.value, s.ts), true
}

// AppendSeries appends one exposition line: name{labels} value [timestamp].
func AppendSeries(b []byte, l labels.Labels, v float64, ts *int64) []byte {
	b = append(b, l.Get(labels.MetricName)...)
	first := true
	l.Range(func(lb labels.Label) {
		if lb.Name == labels.MetricName {
			return
		}
		if first {
			b = append(b, '{')
			first = false
		} else {
			b = append(b, ',')
		}
		b = append(b, lb.Name...)
		b = append(b, '=', '"')
		b = exporter.AppendLabelValue(b, lb.Value)
		b = append(b, '"')
	})
	if !first {
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = exporter.AppendFloat(b, v)
	if ts != nil {
		b = append(b, ' ')
		b = strconv.AppendInt(b, *ts, 10)
	}
	return append(b, '\n')
}
