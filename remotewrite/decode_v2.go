package remotewrite

import (
	"errors"
	"fmt"
	"slices"
)

var (
	errOddRefs  = errors.New("odd number of label references")
	errRefRange = errors.New("symbol reference out of range")
)

// decodeV2 decodes an io.prometheus.write.v2.Request from b into r. Label
// references are resolved against the symbol table once, into labels whose
// strings are views into b.
func (r *Request) decodeV2(b []byte) error {
	r.reset()
	r.Protocol = V2
	// Pass 1: the symbol table (it may legally follow the series).
	i := 0
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch field {
		case 4, 5:
			if wt != 2 {
				return wireTypeError{"Request." + itoa(int(field)), wt}
			}
			s, e, err := lenDelim(b, i)
			if err != nil {
				return err
			}
			if field == 4 {
				r.Symbols = append(r.Symbols, view(b, s, e))
			}
			i = e
		default:
			if i, err = skip(b, start); err != nil {
				return err
			}
		}
	}
	// Pass 2: the series. The structure was checked by pass 1.
	for i = 0; i < len(b); {
		start := i
		field, _, n, _ := tag(b, i)
		i = n
		if field != 4 && field != 5 {
			i, _ = skip(b, start)
			continue
		}
		s, e, _ := lenDelim(b, i)
		if field == 5 {
			if err := r.decodeSeriesV2(b[:e], s); err != nil {
				return err
			}
		}
		i = e
	}
	return nil
}

// readRefs appends the uint32 references of a repeated uint32 field (packed or
// not) at b[i:] to r.refs.
func (r *Request) readRefs(b []byte, i, wt int) (int, error) {
	var v uint64
	var err error
	switch wt {
	case 0:
		if v, i, err = uvarint(b, i); err != nil {
			return 0, err
		}
		r.refs = append(r.refs, uint32(v))
		return i, nil
	case 2:
		s, e, err := lenDelim(b, i)
		if err != nil {
			return 0, err
		}
		for i = s; i < e; {
			if b[i] < 0x80 {
				r.refs = append(r.refs, uint32(b[i]))
				i++
				continue
			}
			if v, i, err = uvarint(b, i); err != nil {
				return 0, err
			}
			r.refs = append(r.refs, uint32(v))
		}
		return i, nil
	}
	return 0, wireTypeError{"labels_refs", wt}
}

// resolvePacked reads a packed labels_refs field at b[i:] and resolves it
// pair by pair straight into r.labels; an odd last reference is left in
// r.refs for a later labels_refs field (or the odd-count error).
//
// Like the generated code, a varint may run past the field's end (up to
// len(b), the series' end); the caller then continues where it stopped.
func (r *Request) resolvePacked(b []byte, i int) (int, error) {
	s, e, err := lenDelim(b, i)
	if err != nil {
		return 0, err
	}
	syms := r.Symbols
	ns := uint64(len(syms))
	// The labels are written through a local slice: appending to r.labels
	// reloads and stores its header on every label (the compiler cannot
	// prove the label stores do not alias it). Room for every pair the field
	// can hold (each reference takes a byte at least), capped so that a huge
	// field of bad references allocates no more than append would.
	out := r.labels
	k := len(out)
	if need := min((e-s)/2, 1<<16); cap(out)-k < need {
		out = slices.Grow(out, need)
	}
	out = out[:cap(out)]
	var n, v uint64
	j := s
	for j < e {
		// One- and two-byte references (symbol tables up to 16384
		// entries) inline, longer ones through uvarint.
		if c := b[j]; c < 0x80 {
			n, j = uint64(c), j+1
		} else if j+1 < len(b) && b[j+1] < 0x80 {
			n, j = uint64(c&0x7f)|uint64(b[j+1])<<7, j+2
		} else if n, j, err = uvarint(b, j); err != nil {
			r.labels = out[:k]
			return 0, err
		}
		if j >= e {
			r.refs = append(r.refs, uint32(n))
			break
		}
		if c := b[j]; c < 0x80 {
			v, j = uint64(c), j+1
		} else if j+1 < len(b) && b[j+1] < 0x80 {
			v, j = uint64(c&0x7f)|uint64(b[j+1])<<7, j+2
		} else if v, j, err = uvarint(b, j); err != nil {
			r.labels = out[:k]
			return 0, err
		}
		n, v = uint64(uint32(n)), uint64(uint32(v))
		if n >= ns || v >= ns {
			r.labels = out[:k]
			return 0, errRefRange
		}
		if k == len(out) {
			out = slices.Grow(out[:k], 1)
			out = out[:cap(out)]
		}
		out[k] = Label{syms[n], syms[v]}
		k++
	}
	r.labels = out[:k]
	return j, nil
}

// resolve turns r.refs[from:] into labels appended to dst.
func (r *Request) resolve(dst []Label, from int) ([]Label, error) {
	refs := r.refs[from:]
	if len(refs)%2 != 0 {
		return dst, errOddRefs
	}
	syms := r.Symbols
	for j := 0; j+1 < len(refs); j += 2 {
		n, v := refs[j], refs[j+1]
		if int(n) >= len(syms) || int(v) >= len(syms) {
			return dst, errRefRange
		}
		dst = append(dst, Label{syms[n], syms[v]})
	}
	r.refs = r.refs[:from]
	return dst, nil
}

// symbol resolves a metadata reference; 0 (the field's default) is "" even
// in a request without symbols.
func (r *Request) symbol(ref uint64) (string, error) {
	if ref == 0 {
		return "", nil
	}
	if ref >= uint64(len(r.Symbols)) {
		return "", errRefRange
	}
	return r.Symbols[ref], nil
}

func (r *Request) decodeSeriesV2(b []byte, i int) error {
	l0, s0, h0, e0 := len(r.labels), len(r.samples), len(r.hists), len(r.exemplars)
	var md Metadata
	for i < len(b) {
		start := i
		// tag and lenDelim, hand-inlined for one-byte keys and lengths.
		var field int32
		var wt int
		var err error
		if c := b[i]; c < 0x80 && c >= 8 && c&7 != 4 {
			field, wt, i = int32(c>>3), int(c&7), i+1
		} else if field, wt, i, err = tagSlow(b, i); err != nil {
			return err
		}
		if field == 1 {
			if wt == 2 && len(r.refs) == 0 {
				i, err = r.resolvePacked(b, i)
			} else {
				i, err = r.readRefs(b, i, wt)
			}
			if err != nil {
				return err
			}
			continue
		}
		if field < 2 || field > 5 {
			if i, err = skip(b, start); err != nil {
				return err
			}
			continue
		}
		if wt != 2 {
			return wireTypeError{"TimeSeries." + itoa(int(field)), wt}
		}
		var s, e int
		if i < len(b) && b[i] < 0x80 && i+1+int(b[i]) <= len(b) {
			s, e = i+1, i+1+int(b[i])
		} else if s, e, err = lenDelimSlow(b, i); err != nil {
			return err
		}
		switch field {
		case 2:
			smp, ok := canonicalSample(b, s, e)
			if ok {
				r.samples = append(r.samples, smp)
				break
			}
			if smp, err = decodeSampleV2(b[:e], s); err != nil {
				return err
			}
			r.samples = append(r.samples, smp)
		case 3:
			var ts int64
			if ts, err = checkHistogram(b[s:e]); err != nil {
				return fmt.Errorf("histogram: %w", err)
			}
			r.hists = append(r.hists, Histogram{Timestamp: ts, Raw: b[s:e:e]})
		case 4:
			if err = r.decodeExemplarV2(b[:e], s); err != nil {
				return err
			}
		case 5:
			if r.canonicalMetadataV2(b, s, e, &md) {
				break
			}
			if err = r.decodeMetadataV2(b[:e], s, &md); err != nil {
				return err
			}
		}
		i = e
	}
	var err error
	if r.labels, err = r.resolve(r.labels, 0); err != nil {
		return err
	}
	l1, s1, h1, e1 := len(r.labels), len(r.samples), len(r.hists), len(r.exemplars)
	r.Series = append(r.Series, Series{
		Labels:     r.labels[l0:l1:l1],
		Samples:    r.samples[s0:s1:s1],
		Histograms: r.hists[h0:h1:h1],
		Exemplars:  r.exemplars[e0:e1:e1],
		Metadata:   md,
	})
	r.Counts.Samples += s1 - s0
	r.Counts.Histograms += h1 - h0
	r.Counts.Exemplars += e1 - e0
	return nil
}

func decodeSampleV2(b []byte, i int) (Sample, error) {
	var smp Sample
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return smp, err
		}
		i = n
		switch field {
		case 1:
			if wt != 1 {
				return smp, wireTypeError{"Sample.value", wt}
			}
			if smp.Value, i, err = float64At(b, i); err != nil {
				return smp, err
			}
		case 2, 3:
			if wt != 0 {
				return smp, wireTypeError{"Sample." + itoa(int(field)), wt}
			}
			var v uint64
			if v, i, err = uvarint(b, i); err != nil {
				return smp, err
			}
			if field == 2 {
				smp.Timestamp = int64(v)
			} else {
				smp.StartTimestamp = int64(v)
			}
		default:
			if i, err = skip(b, start); err != nil {
				return smp, err
			}
		}
	}
	return smp, nil
}

func (r *Request) decodeExemplarV2(b []byte, i int) error {
	var ex Exemplar
	from := len(r.refs)
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch field {
		case 1:
			if i, err = r.readRefs(b, i, wt); err != nil {
				return err
			}
		case 2:
			if wt != 1 {
				return wireTypeError{"Exemplar.value", wt}
			}
			if ex.Value, i, err = float64At(b, i); err != nil {
				return err
			}
		case 3:
			if wt != 0 {
				return wireTypeError{"Exemplar.timestamp", wt}
			}
			var v uint64
			if v, i, err = uvarint(b, i); err != nil {
				return err
			}
			ex.Timestamp = int64(v)
		default:
			if i, err = skip(b, start); err != nil {
				return err
			}
		}
	}
	l0 := len(r.exLabels)
	var err error
	if r.exLabels, err = r.resolve(r.exLabels, from); err != nil {
		return fmt.Errorf("exemplar: %w", err)
	}
	l1 := len(r.exLabels)
	ex.Labels = r.exLabels[l0:l1:l1]
	r.exemplars = append(r.exemplars, ex)
	return nil
}

// canonicalMetadataV2 decodes the usual encoding of a Metadata in b[s:e]
// (type, help_ref, unit_ref in field order, each a varint of one or two
// bytes, zero ones left out) into md; false for anything else, or a
// reference out of range, which decodeMetadataV2 then handles (it sets the
// same fields to the same values, or fails).
func (r *Request) canonicalMetadataV2(b []byte, s, e int, md *Metadata) bool {
	i := s
	if i+1 < e && b[i] == 0x08 && b[i+1] < 0x80 {
		md.Type = MetricType(b[i+1])
		i += 2
	}
	for _, key := range [2]byte{0x18, 0x20} {
		if i >= e || b[i] != key {
			continue
		}
		var v uint64
		switch {
		case i+1 < e && b[i+1] < 0x80:
			v, i = uint64(b[i+1]), i+2
		case i+2 < e && b[i+2] < 0x80:
			v, i = uint64(b[i+1]&0x7f)|uint64(b[i+2])<<7, i+3
		default:
			return false
		}
		sym, err := r.symbol(v)
		if err != nil {
			return false
		}
		if key == 0x18 {
			md.Help = sym
		} else {
			md.Unit = sym
		}
	}
	return i == e
}

func (r *Request) decodeMetadataV2(b []byte, i int, md *Metadata) error {
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch field {
		case 1, 3, 4:
			if wt != 0 {
				return wireTypeError{"Metadata." + itoa(int(field)), wt}
			}
			var v uint64
			if v, i, err = uvarint(b, i); err != nil {
				return err
			}
			switch field {
			case 1:
				md.Type = MetricType(int32(v))
			case 3:
				if md.Help, err = r.symbol(uint64(uint32(v))); err != nil {
					return fmt.Errorf("metadata help: %w", err)
				}
			case 4:
				if md.Unit, err = r.symbol(uint64(uint32(v))); err != nil {
					return fmt.Errorf("metadata unit: %w", err)
				}
			}
		default:
			if i, err = skip(b, start); err != nil {
				return err
			}
		}
	}
	return nil
}
