package remotewrite

import (
	"math"
	"math/bits"
	"strings"
)

// Encoders for the two protocols, used when the request must be converted
// (RW 2.0 in, a RW 1.0 downstream) or was changed by the Processor. Sizes are
// computed first so that every message is written once, into one buffer.

func sizeVarint(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendFixed64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

// sizeBytesField is the size of a length-delimited field of n bytes with a
// one-byte key.
func sizeBytesField(n int) int { return 1 + sizeVarint(uint64(n)) + n }

func sizeStringField(s string) int {
	if s == "" {
		return 0
	}
	return sizeBytesField(len(s))
}

func appendStringField(b []byte, key byte, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, key)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// mergeLabels calls fn for the labels of s with adds (sorted by name, for
// this series) merged in: an added label replaces one of the same name.
func mergeLabels(ls []Label, adds []labelAdd, fn func(Label)) {
	j := 0
	for _, l := range ls {
		for j < len(adds) && adds[j].Name < l.Name {
			fn(adds[j].Label)
			j++
		}
		if j < len(adds) && adds[j].Name == l.Name {
			fn(adds[j].Label)
			j++
			continue
		}
		fn(l)
	}
	for ; j < len(adds); j++ {
		fn(adds[j].Label)
	}
}

// addsFor returns the slice of adds for series i, advancing *k.
func addsFor(adds []labelAdd, k *int, i int) []labelAdd {
	s := *k
	for *k < len(adds) && adds[*k].series == i {
		*k++
	}
	return adds[s:*k]
}

func sizeLabelV1(l Label) int { return sizeStringField(l.Name) + sizeStringField(l.Value) }

func appendLabelV1(b []byte, key byte, l Label) []byte {
	b = append(b, key)
	b = appendVarint(b, uint64(sizeLabelV1(l)))
	b = appendStringField(b, 0x0a, l.Name)
	return appendStringField(b, 0x12, l.Value)
}

func sizeSampleV1(s Sample) int { return 9 + 1 + sizeVarint(uint64(s.Timestamp)) }

func sizeExemplarV1(e Exemplar) int {
	n := 9 + 1 + sizeVarint(uint64(e.Timestamp))
	for _, l := range e.Labels {
		n += sizeBytesField(sizeLabelV1(l))
	}
	return n
}

// encodeV1 appends r as a prometheus.WriteRequest to dst.
func (r *Request) encodeV1(dst []byte, meta map[string]Metadata) []byte {
	adds := r.sortedAdds()
	k := 0
	for i := range r.Series {
		s := &r.Series[i]
		sa := addsFor(adds, &k, i)
		n := 0
		if len(sa) == 0 { // the common case, without a closure call per label
			for _, l := range s.Labels {
				n += sizeBytesField(sizeLabelV1(l))
			}
		} else {
			mergeLabels(s.Labels, sa, func(l Label) { n += sizeBytesField(sizeLabelV1(l)) })
		}
		for _, smp := range s.Samples {
			n += sizeBytesField(sizeSampleV1(smp))
		}
		for _, e := range s.Exemplars {
			n += sizeBytesField(sizeExemplarV1(e))
		}
		for _, h := range s.Histograms {
			n += sizeBytesField(len(h.Raw))
		}
		dst = append(dst, 0x0a)
		dst = appendVarint(dst, uint64(n))
		if len(sa) == 0 {
			for _, l := range s.Labels {
				dst = appendLabelV1(dst, 0x0a, l)
			}
		} else {
			mergeLabels(s.Labels, sa, func(l Label) { dst = appendLabelV1(dst, 0x0a, l) })
		}
		for _, smp := range s.Samples {
			dst = append(dst, 0x12)
			dst = appendVarint(dst, uint64(sizeSampleV1(smp)))
			dst = append(dst, 0x09)
			dst = appendFixed64(dst, math.Float64bits(smp.Value))
			dst = append(dst, 0x10)
			dst = appendVarint(dst, uint64(smp.Timestamp))
		}
		for _, e := range s.Exemplars {
			dst = append(dst, 0x1a)
			dst = appendVarint(dst, uint64(sizeExemplarV1(e)))
			for _, l := range e.Labels {
				dst = appendLabelV1(dst, 0x0a, l)
			}
			dst = append(dst, 0x11)
			dst = appendFixed64(dst, math.Float64bits(e.Value))
			dst = append(dst, 0x18)
			dst = appendVarint(dst, uint64(e.Timestamp))
		}
		for _, h := range s.Histograms {
			dst = append(dst, 0x22)
			dst = appendVarint(dst, uint64(len(h.Raw)))
			dst = append(dst, h.Raw...)
		}
	}
	// Metadata: RW 1.0's own entries, or one per metric name from RW 2.0's
	// per-series metadata.
	appendMeta := func(m Metadata) {
		n := sizeStringField(m.FamilyName) + sizeStringField(m.Help) + sizeStringField(m.Unit)
		if m.Type != 0 {
			n += 1 + sizeVarint(uint64(m.Type))
		}
		dst = append(dst, 0x1a)
		dst = appendVarint(dst, uint64(n))
		if m.Type != 0 {
			dst = append(dst, 0x08)
			dst = appendVarint(dst, uint64(m.Type))
		}
		dst = appendStringField(dst, 0x12, m.FamilyName)
		dst = appendStringField(dst, 0x22, m.Help)
		dst = appendStringField(dst, 0x2a, m.Unit)
	}
	if r.Protocol == V1 {
		for _, m := range r.Metadata {
			appendMeta(m)
		}
		return dst
	}
	clear(meta)
	for i := range r.Series {
		m := r.Series[i].Metadata
		if m.Type == 0 && m.Help == "" && m.Unit == "" {
			continue
		}
		name := r.Series[i].Get("__name__")
		if _, seen := meta[name]; seen || name == "" {
			continue
		}
		m.FamilyName = name
		meta[name] = m
		appendMeta(m)
	}
	return dst
}

// symbolizer builds a RW 2.0 symbol table.
type symbolizer struct {
	index   map[string]uint32
	symbols []string
}

func (s *symbolizer) reset() {
	if s.index == nil {
		s.index = make(map[string]uint32, 1024)
	}
	clear(s.index)
	s.symbols = append(s.symbols[:0], "")
	s.index[""] = 0
}

func (s *symbolizer) ref(v string) uint32 {
	if r, ok := s.index[v]; ok {
		return r
	}
	r := uint32(len(s.symbols))
	s.index[v] = r
	s.symbols = append(s.symbols, v)
	return r
}

func sizePackedRefs(refs []uint32) int {
	n := 0
	for _, r := range refs {
		n += sizeVarint(uint64(r))
	}
	return n
}

func appendPackedRefs(b []byte, refs []uint32) []byte {
	if len(refs) == 0 {
		return b
	}
	b = append(b, 0x0a)
	b = appendVarint(b, uint64(sizePackedRefs(refs)))
	for _, r := range refs {
		b = appendVarint(b, uint64(r))
	}
	return b
}

func sizeRefsField(refs []uint32) int {
	if len(refs) == 0 {
		return 0
	}
	return sizeBytesField(sizePackedRefs(refs))
}

func sizeSampleV2(s Sample) int {
	n := 9 + 1 + sizeVarint(uint64(s.Timestamp))
	if s.StartTimestamp != 0 {
		n += 1 + sizeVarint(uint64(s.StartTimestamp))
	}
	return n
}

// metadataFor finds RW 1.0 metadata for a series: by its metric name, or the
// name without a histogram, summary or counter suffix.
func metadataFor(meta map[string]Metadata, name string) (Metadata, bool) {
	if m, ok := meta[name]; ok {
		return m, true
	}
	for _, suf := range []string{"_bucket", "_count", "_sum", "_total"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if m, ok := meta[base]; ok {
				return m, true
			}
		}
	}
	return Metadata{}, false
}

// encodeV2 appends r as an io.prometheus.write.v2.Request to dst. sym and
// meta are scratch space.
func (r *Request) encodeV2(dst []byte, sym *symbolizer, meta map[string]Metadata) []byte {
	adds := r.sortedAdds()
	sym.reset()
	clear(meta)
	if r.Protocol == V1 {
		for _, m := range r.Metadata {
			meta[m.FamilyName] = m
		}
	}
	// Symbolize everything first: the table precedes the series.
	refs := r.refs[:0]
	bounds := make([]int, 0, 2*len(r.Series)+1)
	k := 0
	for i := range r.Series {
		s := &r.Series[i]
		bounds = append(bounds, len(refs))
		if sa := addsFor(adds, &k, i); len(sa) == 0 {
			for _, l := range s.Labels {
				refs = append(refs, sym.ref(l.Name), sym.ref(l.Value))
			}
		} else {
			mergeLabels(s.Labels, sa, func(l Label) {
				refs = append(refs, sym.ref(l.Name), sym.ref(l.Value))
			})
		}
		bounds = append(bounds, len(refs))
		for _, e := range s.Exemplars {
			for _, l := range e.Labels {
				refs = append(refs, sym.ref(l.Name), sym.ref(l.Value))
			}
		}
		m := s.Metadata
		if r.Protocol == V1 {
			m, _ = metadataFor(meta, s.Get("__name__"))
		}
		sym.ref(m.Help)
		sym.ref(m.Unit)
	}
	bounds = append(bounds, len(refs))
	r.refs = refs
	for _, v := range sym.symbols {
		dst = append(dst, 0x22)
		dst = appendVarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	for i := range r.Series {
		s := &r.Series[i]
		lrefs := refs[bounds[2*i]:bounds[2*i+1]]
		exRefs := refs[bounds[2*i+1]:bounds[2*i+2]]
		m := s.Metadata
		if r.Protocol == V1 {
			m, _ = metadataFor(meta, s.Get("__name__"))
		}
		mn := 0
		if m.Type != 0 {
			mn += 1 + sizeVarint(uint64(m.Type))
		}
		if h := sym.index[m.Help]; h != 0 {
			mn += 1 + sizeVarint(uint64(h))
		}
		if u := sym.index[m.Unit]; u != 0 {
			mn += 1 + sizeVarint(uint64(u))
		}
		n := sizeRefsField(lrefs)
		for _, smp := range s.Samples {
			n += sizeBytesField(sizeSampleV2(smp))
		}
		for _, h := range s.Histograms {
			n += sizeBytesField(len(h.Raw))
		}
		off := 0
		for _, e := range s.Exemplars {
			er := exRefs[off : off+2*len(e.Labels)]
			off += 2 * len(e.Labels)
			n += sizeBytesField(sizeRefsField(er) + 9 + 1 + sizeVarint(uint64(e.Timestamp)))
		}
		if mn > 0 {
			n += sizeBytesField(mn)
		}
		dst = append(dst, 0x2a)
		dst = appendVarint(dst, uint64(n))
		dst = appendPackedRefs(dst, lrefs)
		for _, smp := range s.Samples {
			dst = append(dst, 0x12)
			dst = appendVarint(dst, uint64(sizeSampleV2(smp)))
			dst = append(dst, 0x09)
			dst = appendFixed64(dst, math.Float64bits(smp.Value))
			dst = append(dst, 0x10)
			dst = appendVarint(dst, uint64(smp.Timestamp))
			if smp.StartTimestamp != 0 {
				dst = append(dst, 0x18)
				dst = appendVarint(dst, uint64(smp.StartTimestamp))
			}
		}
		for _, h := range s.Histograms {
			dst = append(dst, 0x1a)
			dst = appendVarint(dst, uint64(len(h.Raw)))
			dst = append(dst, h.Raw...)
		}
		off = 0
		for _, e := range s.Exemplars {
			er := exRefs[off : off+2*len(e.Labels)]
			off += 2 * len(e.Labels)
			dst = append(dst, 0x22)
			dst = appendVarint(dst, uint64(sizeRefsField(er)+9+1+sizeVarint(uint64(e.Timestamp))))
			dst = appendPackedRefs(dst, er)
			dst = append(dst, 0x11)
			dst = appendFixed64(dst, math.Float64bits(e.Value))
			dst = append(dst, 0x18)
			dst = appendVarint(dst, uint64(e.Timestamp))
		}
		if mn > 0 {
			dst = append(dst, 0x2a)
			dst = appendVarint(dst, uint64(mn))
			if m.Type != 0 {
				dst = append(dst, 0x08)
				dst = appendVarint(dst, uint64(m.Type))
			}
			if h := sym.index[m.Help]; h != 0 {
				dst = append(dst, 0x18)
				dst = appendVarint(dst, uint64(h))
			}
			if u := sym.index[m.Unit]; u != 0 {
				dst = append(dst, 0x20)
				dst = appendVarint(dst, uint64(u))
			}
		}
	}
	return dst
}
