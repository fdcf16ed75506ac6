package remotewrite

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"
)

// Wire-format errors. They mirror the checks of the gogo-generated
// Unmarshal methods, so a body this package accepts is one prompb/writev2
// accept and vice versa (proven by the differential fuzz tests).
var (
	errUnexpectedEOF = errors.New("unexpected end of protobuf data")
	errOverflow      = errors.New("protobuf varint overflows 64 bits")
	errNegativeLen   = errors.New("negative protobuf length")
	errEndGroup      = errors.New("protobuf end group outside a group")
	errIllegalTag    = errors.New("illegal protobuf field number")
)

type wireTypeError struct {
	field    string
	wireType int
}

func (e wireTypeError) Error() string {
	return "wrong protobuf wire type " + itoa(e.wireType) + " for field " + e.field
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(b[n:])
}

// uvarint reads a base-128 varint at b[i:]. Like the generated code it
// accepts up to ten bytes and ignores bits beyond 64.
func uvarint(b []byte, i int) (uint64, int, error) {
	if i < len(b) && b[i] < 0x80 {
		return uint64(b[i]), i + 1, nil
	}
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, 0, errOverflow
		}
		if i >= len(b) {
			return 0, 0, errUnexpectedEOF
		}
		c := b[i]
		i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, i, nil
		}
	}
}

// tag reads a field key and returns the field number (truncated to int32 as
// the generated code does) and wire type.
func tag(b []byte, i int) (field int32, wireType int, next int, err error) {
	// Inlined fast path: a one-byte key of field 1-15, not an end group.
	if i < len(b) && b[i] < 0x80 && b[i] >= 8 && b[i]&7 != 4 {
		return int32(b[i] >> 3), int(b[i] & 7), i + 1, nil
	}
	return tagSlow(b, i)
}

func tagSlow(b []byte, i int) (field int32, wireType int, next int, err error) {
	var v uint64
	if v, next, err = uvarint(b, i); err != nil {
		return 0, 0, 0, err
	}
	field, wireType = int32(v>>3), int(v&7)
	if wireType == 4 {
		return 0, 0, 0, errEndGroup
	}
	if field <= 0 {
		return 0, 0, 0, errIllegalTag
	}
	return field, wireType, next, nil
}

// lenDelim reads a length prefix at b[i:] and returns the bounds of the
// payload.
func lenDelim(b []byte, i int) (start, end int, err error) {
	// Inlined fast path: a one-byte length within b.
	if i < len(b) && b[i] < 0x80 && i+1+int(b[i]) <= len(b) {
		return i + 1, i + 1 + int(b[i]), nil
	}
	return lenDelimSlow(b, i)
}

func lenDelimSlow(b []byte, i int) (start, end int, err error) {
	var n uint64
	if n, i, err = uvarint(b, i); err != nil {
		return 0, 0, err
	}
	l := int(n)
	if l < 0 {
		return 0, 0, errNegativeLen
	}
	end = i + l
	if end < 0 {
		return 0, 0, errNegativeLen
	}
	if end > len(b) {
		return 0, 0, errUnexpectedEOF
	}
	return i, end, nil
}

func fixed64(b []byte, i int) (uint64, int, error) {
	if i+8 > len(b) {
		return 0, 0, errUnexpectedEOF
	}
	return binary.LittleEndian.Uint64(b[i:]), i + 8, nil
}

func float64At(b []byte, i int) (float64, int, error) {
	v, n, err := fixed64(b, i)
	return math.Float64frombits(v), n, err
}

// view returns b[start:end] as a string without copying: the string is valid
// as long as b is not reused.
func view(b []byte, start, end int) string {
	if start == end {
		return ""
	}
	return unsafe.String(&b[start], end-start)
}

// skip skips the field whose key started at b[start:] (the key already read,
// the value at b[i:]), the way the generated skipTypes does, groups included.
func skip(b []byte, start int) (int, error) {
	i := start
	depth := 0
	for i < len(b) {
		v, n, err := uvarint(b, i)
		if err != nil {
			return 0, err
		}
		i = n
		switch v & 7 {
		case 0:
			for {
				if i >= len(b) {
					return 0, errUnexpectedEOF
				}
				i++
				if b[i-1] < 0x80 {
					break
				}
				if i-n >= 10 {
					return 0, errOverflow
				}
			}
		case 1:
			i += 8
		case 2:
			var l uint64
			if l, i, err = uvarint(b, i); err != nil {
				return 0, err
			}
			if int(l) < 0 {
				return 0, errNegativeLen
			}
			i += int(l)
		case 3:
			depth++
		case 4:
			if depth == 0 {
				return 0, errEndGroup
			}
			depth--
		case 5:
			i += 4
		default:
			return 0, errors.New("illegal protobuf wire type " + itoa(int(v&7)))
		}
		if i < 0 {
			return 0, errNegativeLen
		}
		if depth == 0 {
			if i > len(b) {
				return 0, errUnexpectedEOF
			}
			return i, nil
		}
	}
	return 0, errUnexpectedEOF
}

// canonicalSample decodes the usual encoding of a Sample (value then
// timestamp: 0x09 <8 bytes> 0x10 <varint> and nothing else) in b[s:e]; ok is
// false for anything else, which the generic decoder then handles.
func canonicalSample(b []byte, s, e int) (smp Sample, ok bool) {
	if e-s < 11 || b[s] != 0x09 || b[s+9] != 0x10 {
		return smp, false
	}
	ts, n, err := uvarint(b[:e], s+10)
	if err != nil || n != e {
		return smp, false
	}
	smp.Value = math.Float64frombits(binary.LittleEndian.Uint64(b[s+1:]))
	smp.Timestamp = int64(ts)
	return smp, true
}
