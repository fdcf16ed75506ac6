package republish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// DefaultAccept prefers the classic text format, which every kubelet and
// kube-state-metrics serve, then OpenMetrics, then protobuf.
const DefaultAccept = "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.3,*/*;q=0.1"

// DefaultMaxBytes limits a source's (decompressed) exposition.
const DefaultMaxBytes = 64 << 20

// Source is one endpoint to scrape and how to republish its series.
type Source struct {
	// Name identifies the source in kubetopo_scrape_source_*{source} and in
	// log lines, e.g. "kubelet-cadvisor" or "kube-state-metrics/kube-system/ksm-0".
	Name string
	URL  string
	// Client does the GET (TLS settings live in its transport); nil uses a
	// client with Timeout.
	Client *http.Client
	// Token, when set, is called before every scrape and its result sent as
	// "Authorization: Bearer ..." — so a rotated service-account token is
	// picked up. It must not log the token.
	Token func() (string, error)
	// Accept is the Accept header; DefaultAccept when empty.
	Accept string
	// Timeout bounds the whole scrape; 10s when zero.
	Timeout time.Duration
	// MaxBytes limits the exposition's size; DefaultMaxBytes when zero.
	MaxBytes int64
	Render   RenderOptions

	// bodyHint is the size of the source's last body (set by Republisher):
	// the next body, whose size a compressed or chunked response does not
	// announce, is read into one buffer of about that size instead of one
	// that doubles its way up from 256 KiB, which made the largest source
	// (the apiserver, ~4 MB) allocate twice its size in garbage per scrape.
	bodyHint int
	// pageHint is the size of the source's last rendered page, likewise.
	pageHint int
}

// ScrapeError is a failed scrape, with the reason used in the
// kubetopo_scrape_source_failures_total{reason} counter.
type ScrapeError struct {
	Reason string // connect, http_status, too_large, read, parse, duplicate, invalid_name, token
	Err    error
}

func (e *ScrapeError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *ScrapeError) Unwrap() error { return e.Err }

func fail(reason string, format string, args ...any) error {
	return &ScrapeError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Fetch scrapes src once and renders its page.
func Fetch(ctx context.Context, src Source) (*Page, error) {
	timeout := src.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return nil, fail("config", "building the request for %s: %w", src.URL, err)
	}
	accept := src.Accept
	if accept == "" {
		accept = DefaultAccept
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64))
	if src.Token != nil {
		tok, err := src.Token()
		if err != nil {
			return nil, fail("token", "reading the bearer token: %w", err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	client := src.Client
	if client == nil {
		client = &http.Client{}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fail("connect", "GET %s: %w", src.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fail("http_status", "GET %s: server returned %s", src.URL, resp.Status)
	}
	limit := src.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if resp.ContentLength > limit {
		return nil, fail("too_large", "GET %s: Content-Length %d exceeds the %d-byte limit", src.URL, resp.ContentLength, limit)
	}
	// An announced size is trusted up to 4 MiB or the last body's size, so
	// a lying Content-Length cannot make the agent allocate the limit.
	hint := int64(256 << 10)
	if src.bodyHint > 0 {
		hint = min(int64(src.bodyHint)+int64(src.bodyHint)/8+512, limit+1)
	}
	size := resp.ContentLength
	if size <= 0 || size > max(4<<20, hint) {
		size = hint
	}
	body, err := readLimited(resp.Body, limit, int(size))
	if err != nil {
		return nil, err
	}
	page, err := render(body, resp.Header.Get("Content-Type"), src.Render, src.pageHint)
	if page != nil {
		page.bodyBytes = len(body)
	}
	switch {
	case errors.Is(err, ErrDuplicateSeries):
		return nil, &ScrapeError{Reason: "duplicate", Err: err}
	case errors.Is(err, ErrInvalidName):
		return nil, &ScrapeError{Reason: "invalid_name", Err: err}
	case err != nil:
		return nil, &ScrapeError{Reason: "parse", Err: err}
	}
	return page, nil
}

func readLimited(r io.Reader, limit int64, hint int) ([]byte, error) {
	buf := make([]byte, 0, hint)
	lr := io.LimitReader(r, limit+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fail("too_large", "exposition exceeds the %d-byte limit", limit)
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, fail("read", "reading the exposition: %w", err)
		}
	}
}
