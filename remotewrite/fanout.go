package remotewrite

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"
)

// bodyFor returns the compressed body for a downstream speaking p: the
// sender's own when the request is unchanged and p is its protocol, else the
// request encoded once per protocol.
func (st *state) bodyFor(p Protocol) (body []byte, mode string) {
	req := &st.req
	if !req.Modified() && p == req.Protocol {
		return st.body, "passthrough"
	}
	if len(st.out[p]) > 0 {
		return st.out[p], "reencoded"
	}
	if p == V1 {
		st.enc = req.encodeV1(st.enc[:0], st.meta)
	} else {
		st.enc = req.encodeV2(st.enc[:0], &st.sym, st.meta)
	}
	n := snappy.MaxEncodedLen(len(st.enc))
	if cap(st.out[p]) < n {
		st.out[p] = make([]byte, n)
	}
	st.out[p] = snappy.Encode(st.out[p][:n], st.enc)
	return st.out[p], "reencoded"
}

// forward sends the request to every downstream at once and waits for all.
// It answers 2xx only when every downstream did.
func (h *Handler) forward(ctx context.Context, st *state, written *Counts) *httpError {
	ds := h.o.Downstreams
	req := &st.req
	defer func() { st.out[V1], st.out[V2] = st.out[V1][:0], st.out[V2][:0] }()
	if len(ds) == 0 {
		*written = req.Counts
		return nil
	}
	// Encode before fanning out: the encoders share st's scratch space.
	bodies := make([][]byte, len(ds))
	modes := make([]string, len(ds))
	for i := range ds {
		bodies[i], modes[i] = st.bodyFor(ds[i].proto)
	}
	if cap(st.results) < len(ds) {
		st.results = make([]result, len(ds))
	}
	results := st.results[:len(ds)]
	do := func(i int) {
		d := &ds[i]
		t0 := time.Now()
		res := send(ctx, h.client, d, bodies[i], h.o.UserAgent)
		h.m.fwdDuration.WithLabelValues(d.Name).Observe(time.Since(t0).Seconds())
		code := "error"
		if res.code != 0 {
			code = strconv.Itoa(res.code)
		}
		h.m.fwdRequests.WithLabelValues(d.Name, code, modes[i]).Inc()
		h.m.fwdBytes.WithLabelValues(d.Name).Add(float64(len(bodies[i])))
		if res.ok() {
			h.m.fwdSent.WithLabelValues(d.Name, "samples").Add(float64(req.Counts.Samples))
			h.m.fwdSent.WithLabelValues(d.Name, "histograms").Add(float64(req.Counts.Histograms))
			h.m.fwdSent.WithLabelValues(d.Name, "exemplars").Add(float64(req.Counts.Exemplars))
		}
		results[i] = res
	}
	if len(ds) == 1 {
		do(0)
	} else {
		var wg sync.WaitGroup
		for i := range ds {
			wg.Add(1)
			go func() { defer wg.Done(); do(i) }()
		}
		wg.Wait()
	}
	// A body net/http may still be sending goes with it: the state keeps
	// none of it for the next request, which gets a fresh buffer.
	for i := range results {
		if results[i].bodyHeld {
			if modes[i] == "passthrough" {
				st.body = nil
			} else {
				st.out[ds[i].proto] = nil
			}
		}
	}
	return h.combine(req, results, written)
}

// combine maps the downstreams' answers to the upstream one:
//   - all 2xx: 204, and for 2.0 the counts (the smallest a 2.0 downstream
//     confirmed, if lower than what was sent);
//   - any connection error, timeout, 5xx or 429: 502/504/503, which senders
//     retry (429 becomes 503 because Prometheus drops on 429 by default);
//     duplicates this causes at downstreams that did accept are harmless;
//   - otherwise (only 4xx): that 4xx, so the sender drops the data the
//     downstream will never take, instead of retrying it forever.
func (h *Handler) combine(req *Request, results []result, written *Counts) *httpError {
	w := req.Counts
	var retry, reject *httpError
	for i, res := range results {
		d := &h.o.Downstreams[i]
		if res.ok() {
			if res.confirmed {
				w.Samples = min(w.Samples, res.written.Samples)
				w.Histograms = min(w.Histograms, res.written.Histograms)
				w.Exemplars = min(w.Exemplars, res.written.Exemplars)
			}
			continue
		}
		switch {
		case res.code == 0:
			code := http.StatusBadGateway
			if isTimeout(res.err) {
				code = http.StatusGatewayTimeout
			}
			retry = &httpError{code: code, reason: "downstream_unavailable", err: fmt.Errorf("downstream %s: %w", d.Name, res.err), retryAfter: h.retryAf}
		case res.retryable():
			code := http.StatusBadGateway
			if res.code == http.StatusTooManyRequests || res.code == http.StatusServiceUnavailable {
				code = http.StatusServiceUnavailable
			}
			ra := res.retryAfter
			if ra == "" {
				ra = h.retryAf
			}
			retry = &httpError{code: code, reason: "downstream_unavailable", err: fmt.Errorf("downstream %s: %w", d.Name, res.err), retryAfter: ra}
		default:
			reject = &httpError{code: res.code, reason: "downstream_rejected", err: fmt.Errorf("downstream %s: %w", d.Name, res.err)}
			if res.confirmed {
				*written = res.written
			}
		}
	}
	if retry != nil {
		*written = Counts{}
		return retry
	}
	if reject != nil {
		return reject
	}
	*written = w
	return nil
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	for e := err; e != nil; {
		if t, ok := e.(timeout); ok && t.Timeout() {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return err != nil && strings.Contains(err.Error(), "deadline exceeded")
}
