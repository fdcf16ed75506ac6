package remotewrite

import "fmt"

// decodeV1 decodes a prometheus.WriteRequest from b into r. Strings are
// views into b.
func (r *Request) decodeV1(b []byte) error {
	r.reset()
	r.Protocol = V1
	i := 0
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch field {
		case 1, 3:
			if wt != 2 {
				return wireTypeError{"WriteRequest." + itoa(int(field)), wt}
			}
			s, e, err := lenDelim(b, i)
			if err != nil {
				return err
			}
			if field == 1 {
				err = r.decodeSeriesV1(b[:e], s)
			} else {
				err = r.decodeMetadataV1(b[:e], s)
			}
			if err != nil {
				return err
			}
			i = e
		default:
			if i, err = skip(b, start); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeSeriesV1 decodes the TimeSeries in b[i:]. b is sliced to the
// message's end but keeps its start so that views stay views of the body.
func (r *Request) decodeSeriesV1(b []byte, i int) error {
	l0, s0, h0, e0 := len(r.labels), len(r.samples), len(r.hists), len(r.exemplars)
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
		if field < 1 || field > 4 {
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
		case 1:
			// Fast path: the canonical encoding of a label with a name and
			// value shorter than 128 bytes (0x0a n name 0x12 m value).
			if e-s >= 4 && b[s] == 0x0a && b[s+1] < 0x80 {
				n := s + 2 + int(b[s+1])
				if n+2 <= e && b[n] == 0x12 && b[n+1] < 0x80 && n+2+int(b[n+1]) == e {
					r.labels = append(r.labels, Label{view(b, s+2, n), view(b, n+2, e)})
					i = e
					continue
				}
			}
			var l Label
			if l, err = decodeLabel(b[:e], s); err != nil {
				return err
			}
			r.labels = append(r.labels, l)
		case 2:
			smp, ok := canonicalSample(b, s, e)
			if ok {
				r.samples = append(r.samples, smp)
				break
			}
			if smp, err = decodeSampleV1(b[:e], s); err != nil {
				return err
			}
			r.samples = append(r.samples, smp)
		case 3:
			if err = r.decodeExemplarV1(b[:e], s); err != nil {
				return err
			}
		case 4:
			var ts int64
			if ts, err = checkHistogram(b[s:e]); err != nil {
				return fmt.Errorf("histogram: %w", err)
			}
			r.hists = append(r.hists, Histogram{Timestamp: ts, Raw: b[s:e:e]})
		}
		i = e
	}
	l1, s1, h1, e1 := len(r.labels), len(r.samples), len(r.hists), len(r.exemplars)
	r.Series = append(r.Series, Series{
		Labels:     r.labels[l0:l1:l1],
		Samples:    r.samples[s0:s1:s1],
		Histograms: r.hists[h0:h1:h1],
		Exemplars:  r.exemplars[e0:e1:e1],
	})
	r.Counts.Samples += s1 - s0
	r.Counts.Histograms += h1 - h0
	r.Counts.Exemplars += e1 - e0
	return nil
}

func decodeLabel(b []byte, i int) (Label, error) {
	var l Label
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return l, err
		}
		i = n
		switch field {
		case 1, 2:
			if wt != 2 {
				return l, wireTypeError{"Label." + itoa(int(field)), wt}
			}
			s, e, err := lenDelim(b, i)
			if err != nil {
				return l, err
			}
			if field == 1 {
				l.Name = view(b, s, e)
			} else {
				l.Value = view(b, s, e)
			}
			i = e
		default:
			if i, err = skip(b, start); err != nil {
				return l, err
			}
		}
	}
	return l, nil
}

func decodeSampleV1(b []byte, i int) (Sample, error) {
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
		case 2:
			if wt != 0 {
				return smp, wireTypeError{"Sample.timestamp", wt}
			}
			var v uint64
			if v, i, err = uvarint(b, i); err != nil {
				return smp, err
			}
			smp.Timestamp = int64(v)
		default:
			if i, err = skip(b, start); err != nil {
				return smp, err
			}
		}
	}
	return smp, nil
}

func (r *Request) decodeExemplarV1(b []byte, i int) error {
	var ex Exemplar
	l0 := len(r.exLabels)
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch field {
		case 1:
			if wt != 2 {
				return wireTypeError{"Exemplar.labels", wt}
			}
			s, e, err := lenDelim(b, i)
			if err != nil {
				return err
			}
			l, err := decodeLabel(b[:e], s)
			if err != nil {
				return err
			}
			r.exLabels = append(r.exLabels, l)
			i = e
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
	l1 := len(r.exLabels)
	ex.Labels = r.exLabels[l0:l1:l1]
	r.exemplars = append(r.exemplars, ex)
	return nil
}

func (r *Request) decodeMetadataV1(b []byte, i int) error {
	var m Metadata
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch field {
		case 1:
			if wt != 0 {
				return wireTypeError{"MetricMetadata.type", wt}
			}
			var v uint64
			if v, i, err = uvarint(b, i); err != nil {
				return err
			}
			m.Type = MetricType(int32(v))
		case 2, 4, 5:
			if wt != 2 {
				return wireTypeError{"MetricMetadata." + itoa(int(field)), wt}
			}
			s, e, err := lenDelim(b, i)
			if err != nil {
				return err
			}
			switch field {
			case 2:
				m.FamilyName = view(b, s, e)
			case 4:
				m.Help = view(b, s, e)
			case 5:
				m.Unit = view(b, s, e)
			}
			i = e
		default:
			if i, err = skip(b, start); err != nil {
				return err
			}
		}
	}
	r.Metadata = append(r.Metadata, m)
	return nil
}
