// Package push is a Prometheus Remote-Write 1.0 client for kubetopo's agents:
// it sends prompb.WriteRequests (protobuf, snappy) to a receiver with an API
// key, retries with exponential backoff on 5xx, 429 and network errors, does
// not retry other 4xx (the receiver refused the data for good: logged and
// counted), and counts what it sent, retried and failed. Queue adds a bounded
// in-order queue of batches for callers that do not keep their own.
package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
)

// DefaultAPIKeyHeader is the header that carries the API key by default.
const DefaultAPIKeyHeader = "X-API-Key"

// Options configure a Client.
type Options struct {
	// URL of the receiver's remote-write endpoint, e.g.
	// https://kubetopo-receiver:9848/api/v1/write.
	URL string
	// APIKey is sent as the APIKeyHeader header and, with
	// APIKeyBasicAuth, as the password of basic auth user "apikey". Empty:
	// no authentication.
	APIKey string
	// APIKeyHeader names the header; empty means DefaultAPIKeyHeader, "-"
	// sends no header (basic auth only).
	APIKeyHeader    string
	APIKeyBasicAuth bool
	// Stream names what this client sends ("events", "topology"): the
	// stream label of its metrics.
	Stream     string
	UserAgent  string
	Timeout    time.Duration // per request; default 30s
	MinBackoff time.Duration // default 100ms
	MaxBackoff time.Duration // default 30s
	HTTPClient *http.Client  // default: a client with Timeout
	Logger     log.Logger
	Registerer prometheus.Registerer
}

// Client sends remote-write requests; it is safe for concurrent use.
type Client struct {
	opts Options
	url  string
	m    *clientMetrics
}

// Error is a response other than 2xx.
type Error struct {
	StatusCode int
	Status     string
	Body       string // the start of the response body
}

func (e *Error) Error() string {
	if e.Body == "" {
		return "remote write: " + e.Status
	}
	return "remote write: " + e.Status + ": " + e.Body
}

// Permanent reports whether retrying cannot help: a 4xx other than 429.
func (e *Error) Permanent() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != http.StatusTooManyRequests
}

// HTTPStatus is the response's status code (0: no response).
func (e *Error) HTTPStatus() int { return e.StatusCode }

// IsPermanent reports whether err is a refusal that must not be retried.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent()
}

// New returns a Client; it checks the URL.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote write URL %q: want http(s)://host[:port]/path", opts.URL)
	}
	if u.User != nil {
		return nil, errors.New("remote write URL: put no credentials in the URL; give the API key in a file")
	}
	if opts.APIKeyHeader == "" {
		opts.APIKeyHeader = DefaultAPIKeyHeader
	}
	if opts.Stream == "" {
		opts.Stream = "default"
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "kubetopo"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: opts.Timeout}
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	m, err := newClientMetrics(opts.Registerer, opts.Stream)
	if err != nil {
		return nil, err
	}
	return &Client{opts: opts, url: u.String(), m: m}, nil
}

// Write sends the series in one request and retries until the receiver
// acknowledges them (nil), refuses them for good (an *Error that is
// Permanent), or ctx ends (ctx's error). An empty batch is not sent.
func (c *Client) Write(ctx context.Context, series []prompb.TimeSeries) error {
	if len(series) == 0 {
		return nil
	}
	samples := 0
	for i := range series {
		samples += len(series[i].Samples)
	}
	req := prompb.WriteRequest{Timeseries: series}
	raw, err := req.Marshal()
	if err != nil {
		return &Error{StatusCode: 0, Status: "cannot encode the request", Body: err.Error()}
	}
	body := snappy.Encode(nil, raw)
	backoff := c.opts.MinBackoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.m.retries.Inc()
		}
		wait, err := c.send(ctx, body)
		switch {
		case err == nil:
			c.m.sent.Add(float64(samples))
			return nil
		case IsPermanent(err):
			c.m.failed.Add(float64(samples))
			level.Error(c.opts.Logger).Log("msg", "the receiver refused the data; not retrying", "stream", c.opts.Stream, "samples", samples, "err", err)
			return err
		case ctx.Err() != nil:
			return fmt.Errorf("remote write: stopped before the receiver acknowledged: %w", ctx.Err())
		}
		if wait <= 0 {
			wait = backoff
			backoff = min(2*backoff, c.opts.MaxBackoff)
		}
		wait = min(wait, c.opts.MaxBackoff)
		level.Warn(c.opts.Logger).Log("msg", "remote write failed, retrying", "stream", c.opts.Stream, "attempt", attempt+1, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("remote write: stopped before the receiver acknowledged: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// send does one request; it returns how long the receiver asked to wait
// (Retry-After) with a retryable error.
func (c *Client) send(ctx context.Context, body []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, &Error{Status: "cannot build the request", Body: err.Error()}
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	if c.opts.APIKey != "" {
		if c.opts.APIKeyHeader != "-" {
			req.Header.Set(c.opts.APIKeyHeader, c.opts.APIKey)
		}
		if c.opts.APIKeyBasicAuth {
			req.SetBasicAuth("apikey", c.opts.APIKey)
		}
	}
	start := time.Now()
	resp, err := c.opts.HTTPClient.Do(req)
	c.m.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		c.m.requests.WithLabelValues("error").Inc()
		return 0, fmt.Errorf("remote write: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // reuse the connection
	c.m.requests.WithLabelValues(strconv.Itoa(resp.StatusCode)).Inc()
	if resp.StatusCode/100 == 2 {
		return 0, nil
	}
	e := &Error{StatusCode: resp.StatusCode, Status: resp.Status, Body: string(bytes.TrimSpace(msg))}
	if resp.StatusCode/100 == 3 {
		// A redirect the client did not follow: a wrong URL, not transient.
		e.StatusCode = http.StatusBadRequest
	}
	return retryAfter(resp.Header.Get("Retry-After")), e
}

func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return time.Until(t)
	}
	return 0
}
