package remotewrite

// checkHistogram validates an encoded Histogram message (the same field
// numbers in RW 1.0 and 2.0) with the checks of the generated Unmarshal and
// returns its timestamp.
func checkHistogram(b []byte) (ts int64, err error) {
	i := 0
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return 0, err
		}
		i = n
		switch field {
		case 1, 4, 6, 14, 15, 17: // count_int, schema, zero_count_int, reset_hint, timestamp, start_timestamp
			if wt != 0 {
				return 0, wireTypeError{"Histogram." + itoa(int(field)), wt}
			}
			var v uint64
			if v, i, err = uvarint(b, i); err != nil {
				return 0, err
			}
			if field == 15 {
				ts = int64(v)
			}
		case 2, 3, 5, 7: // count_float, sum, zero_threshold, zero_count_float
			if wt != 1 {
				return 0, wireTypeError{"Histogram." + itoa(int(field)), wt}
			}
			if i+8 > len(b) {
				return 0, errUnexpectedEOF
			}
			i += 8
		case 8, 11: // negative_spans, positive_spans
			if wt != 2 {
				return 0, wireTypeError{"Histogram." + itoa(int(field)), wt}
			}
			s, e, err := lenDelim(b, i)
			if err != nil {
				return 0, err
			}
			if err := checkBucketSpan(b[s:e]); err != nil {
				return 0, err
			}
			i = e
		case 9, 12: // negative_deltas, positive_deltas: repeated sint64
			if i, err = repeatedVarint(b, i, wt, "Histogram."+itoa(int(field))); err != nil {
				return 0, err
			}
		case 10, 13, 16: // negative_counts, positive_counts, custom_values: repeated double
			if i, err = repeatedFixed64(b, i, wt, "Histogram."+itoa(int(field))); err != nil {
				return 0, err
			}
		default:
			if i, err = skip(b, start); err != nil {
				return 0, err
			}
		}
	}
	return ts, nil
}

func checkBucketSpan(b []byte) error {
	i := 0
	for i < len(b) {
		start := i
		field, wt, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		switch field {
		case 1, 2:
			if wt != 0 {
				return wireTypeError{"BucketSpan." + itoa(int(field)), wt}
			}
			if _, i, err = uvarint(b, i); err != nil {
				return err
			}
		default:
			if i, err = skip(b, start); err != nil {
				return err
			}
		}
	}
	return nil
}

// repeatedVarint skips a repeated varint field, unpacked (wire type 0) or
// packed (2). Like the generated code, a packed run's last element may end
// beyond the declared length but not beyond the enclosing message.
func repeatedVarint(b []byte, i, wt int, name string) (int, error) {
	var err error
	switch wt {
	case 0:
		_, i, err = uvarint(b, i)
		return i, err
	case 2:
		s, e, err := lenDelim(b, i)
		if err != nil {
			return 0, err
		}
		for i = s; i < e; {
			if _, i, err = uvarint(b, i); err != nil {
				return 0, err
			}
		}
		return i, nil
	}
	return 0, wireTypeError{name, wt}
}

// repeatedFixed64 is repeatedVarint for repeated doubles.
func repeatedFixed64(b []byte, i, wt int, name string) (int, error) {
	switch wt {
	case 1:
		if i+8 > len(b) {
			return 0, errUnexpectedEOF
		}
		return i + 8, nil
	case 2:
		s, e, err := lenDelim(b, i)
		if err != nil {
			return 0, err
		}
		for i = s; i < e; i += 8 {
			if i+8 > len(b) {
				return 0, errUnexpectedEOF
			}
		}
		return i, nil
	}
	return 0, wireTypeError{name, wt}
}
