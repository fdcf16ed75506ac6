package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
)

// Processor sees every well-formed, authenticated request after decoding
// and before forwarding (issue 6: topology from kubetopo_*_info series, series
// mapped to components, a urn label added).
//
// Contract:
//   - Process is called concurrently from many requests; it must be safe for
//     concurrent use.
//   - req and everything reachable from it (label strings, samples, symbols,
//     histogram bytes) are views into the receiver's pooled buffers, valid
//     only until Process returns. Copy what you keep (strings.Clone, append
//     to your own slices); never retain a Label, slice or string from req.
//   - To enrich, call req.SetLabel(seriesIndex, name, value); the values must
//     stay valid until the request has been forwarded, which constants, your
//     own strings and views of req all do. Do not modify req's slices in place.
//   - A nil error lets the request be forwarded. An error answers 500 (the
//     sender retries) and forwards nothing; use it only for transient failures.
type Processor interface {
	Process(ctx context.Context, req *Request) error
}

// Options configure a Handler.
type Options struct {
	Logger     log.Logger
	Registerer prometheus.Registerer
	// Keys authenticate writes; nil accepts every write (TLS and basic auth
	// of --web.config.file still apply).
	Keys *APIKeys
	// MaxBodyBytes limits the compressed body (default 32 MiB) and
	// MaxDecodedBytes the decompressed one, read from snappy's header before
	// decoding (default 64 MiB). Larger requests get 413.
	MaxBodyBytes, MaxDecodedBytes int
	// MaxInFlight bounds the requests handled at once (default 64); more get
	// 503 with Retry-After.
	MaxInFlight int
	RetryAfter  time.Duration // default 1s
	Downstreams []Downstream
	Processor   Processor    // optional
	Client      *http.Client // for downstreams; default a pooled transport
	UserAgent   string
}

// Handler serves POST /api/v1/write.
type Handler struct {
	o       Options
	logger  log.Logger
	m       *metrics
	sem     chan struct{}
	states  statePool
	client  *http.Client
	retryAf string
}

// NewHandler builds the write handler.
func NewHandler(o Options) (*Handler, error) {
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.MaxDecodedBytes <= 0 {
		o.MaxDecodedBytes = 64 << 20
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.UserAgent == "" {
		o.UserAgent = "kubetopo-receiver"
	}
	for i := range o.Downstreams {
		if o.Downstreams[i].proto == 0 {
			if err := o.Downstreams[i].init(); err != nil {
				return nil, err
			}
		}
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Transport: newTransport(o.MaxInFlight, o.MaxInFlight*(len(o.Downstreams)+1))}
	}
	h := &Handler{
		o: o, logger: o.Logger, m: newMetrics(o.Registerer), client: client,
		sem:     make(chan struct{}, o.MaxInFlight),
		retryAf: strconv.Itoa(int((o.RetryAfter + time.Second - 1) / time.Second)),
	}
	h.m.maxInFlight.Set(float64(o.MaxInFlight))
	h.states.init(runtime.GOMAXPROCS(0))
	return h, nil
}

// state is the per-request scratch space, pooled.
type state struct {
	body, decoded []byte
	req           Request
	enc           []byte
	out           [3][]byte // compressed bodies by protocol, when re-encoded
	sym           symbolizer
	meta          map[string]Metadata
	results       []result
}

// httpError is a failure with the status it answers.
type httpError struct {
	code       int
	reason     string // rejected_requests_total reason
	err        error
	retryAfter string
}

func (e *httpError) Error() string { return e.err.Error() }

func fail(code int, reason string, err error) *httpError {
	return &httpError{code: code, reason: reason, err: err}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	proto := Protocol(0)
	var written Counts
	herr := h.serve(w, r, &proto, &written)
	code := http.StatusNoContent
	if proto == V2 {
		// Required on every 2.0 answer: what was written (0 on failure).
		hd := w.Header()
		hd.Set(writtenSamples, strconv.Itoa(written.Samples))
		hd.Set(writtenHistograms, strconv.Itoa(written.Histograms))
		hd.Set(writtenExemplars, strconv.Itoa(written.Exemplars))
	}
	if herr != nil {
		code = herr.code
		if herr.reason != "" {
			h.m.rejected.WithLabelValues(herr.reason).Inc()
		}
		if herr.retryAfter != "" {
			w.Header().Set("Retry-After", herr.retryAfter)
		}
		lvl := level.Debug
		if code/100 == 5 {
			lvl = level.Warn
		}
		lvl(h.logger).Log("msg", "remote write failed", "code", code, "protocol", proto, "err", herr.err)
		http.Error(w, herr.err.Error(), code)
	} else {
		w.WriteHeader(code)
	}
	ps := proto.String()
	h.m.requests.WithLabelValues(ps, strconv.Itoa(code)).Inc()
	h.m.duration.WithLabelValues(ps).Observe(time.Since(start).Seconds())
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, proto *Protocol, written *Counts) *httpError {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return fail(http.StatusMethodNotAllowed, "method", fmt.Errorf("method %s: only POST is accepted", r.Method))
	}
	if h.o.Keys != nil && !h.o.Keys.Authenticate(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="kubetopo-receiver"`)
		return fail(http.StatusUnauthorized, "unauthorized", errors.New("no valid API key (X-API-Key, Authorization: Bearer, or basic auth as user apikey)"))
	}
	select {
	case h.sem <- struct{}{}:
	default:
		e := fail(http.StatusServiceUnavailable, "overloaded", fmt.Errorf("over the limit of %d concurrent writes, retry later", h.o.MaxInFlight))
		e.retryAfter = h.retryAf
		return e
	}
	h.m.inFlight.Inc()
	defer func() { <-h.sem; h.m.inFlight.Dec() }()

	p, err := parseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		return fail(http.StatusUnsupportedMediaType, "content_type", err)
	}
	*proto = p
	if err := checkEncoding(r.Header); err != nil {
		return fail(http.StatusUnsupportedMediaType, "content_encoding", err)
	}
	if err := checkVersion(r.Header, p); err != nil {
		return fail(http.StatusBadRequest, "version", err)
	}
	if r.ContentLength > int64(h.o.MaxBodyBytes) {
		return fail(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Errorf("body of %d bytes exceeds the %d bytes limit", r.ContentLength, h.o.MaxBodyBytes))
	}
	st := h.states.get()
	defer h.states.put(st)
	if herr := h.read(r, st); herr != nil {
		return herr
	}
	ps := p.String()
	h.m.bytes.WithLabelValues(ps, "snappy").Add(float64(len(st.body)))
	n, err := snappy.DecodedLen(st.body)
	if err != nil {
		return fail(http.StatusBadRequest, "snappy", fmt.Errorf("snappy: %w", err))
	}
	if n > h.o.MaxDecodedBytes {
		return fail(http.StatusRequestEntityTooLarge, "decoded_too_large", fmt.Errorf("decoded size %d bytes exceeds the %d bytes limit", n, h.o.MaxDecodedBytes))
	}
	if cap(st.decoded) < n {
		st.decoded = make([]byte, n)
	}
	dec, err := snappy.Decode(st.decoded[:cap(st.decoded)], st.body)
	if err != nil {
		return fail(http.StatusBadRequest, "snappy", fmt.Errorf("snappy: %w", err))
	}
	h.m.bytes.WithLabelValues(ps, "decoded").Add(float64(len(dec)))
	req := &st.req
	if p == V1 {
		err = req.decodeV1(dec)
	} else {
		err = req.decodeV2(dec)
	}
	if err != nil {
		return fail(http.StatusBadRequest, "protobuf", fmt.Errorf("decoding %s: %w", p.protoName(), err))
	}
	h.count(req)
	if h.o.Processor != nil {
		if err := h.o.Processor.Process(r.Context(), req); err != nil {
			h.m.processorError.Inc()
			return fail(http.StatusInternalServerError, "processor", fmt.Errorf("processing: %w", err))
		}
	}
	herr := h.forward(r.Context(), st, written)
	// Drop references into the buffers the pool keeps.
	clear(st.req.adds)
	return herr
}

func (p Protocol) protoName() string {
	if p == V2 {
		return protoV2
	}
	return protoV1
}

func (h *Handler) count(req *Request) {
	ps := req.Protocol.String()
	h.m.received.WithLabelValues(ps, "samples").Add(float64(req.Counts.Samples))
	h.m.received.WithLabelValues(ps, "histograms").Add(float64(req.Counts.Histograms))
	h.m.received.WithLabelValues(ps, "exemplars").Add(float64(req.Counts.Exemplars))
	h.m.received.WithLabelValues(ps, "metadata").Add(float64(len(req.Metadata)))
}

// read reads the compressed body into st.body, within the limit.
func (h *Handler) read(r *http.Request, st *state) *httpError {
	limit := h.o.MaxBodyBytes
	buf := st.body[:0]
	if cl := r.ContentLength; cl > 0 {
		if cap(buf) < int(cl) {
			buf = make([]byte, 0, cl)
		}
		buf = buf[:cl]
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			st.body = buf[:0]
			return fail(http.StatusBadRequest, "read", fmt.Errorf("reading the body: %w", err))
		}
		st.body = buf
		return nil
	}
	if cap(buf) == 0 {
		buf = make([]byte, 0, 64<<10)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			st.body = buf[:0]
			return fail(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Errorf("body exceeds the %d bytes limit", limit))
		}
		if err == io.EOF {
			st.body = buf
			return nil
		}
		if err != nil {
			st.body = buf[:0]
			return fail(http.StatusBadRequest, "read", fmt.Errorf("reading the body: %w", err))
		}
	}
}
