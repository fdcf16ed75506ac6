package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v2"
)

// Downstream is one remote-write endpoint the receiver forwards to.
type Downstream struct {
	// Name identifies the downstream in metrics and logs (default: the URL's
	// host and path, never its credentials).
	Name     string            `yaml:"name"`
	URL      string            `yaml:"url"`
	Protocol string            `yaml:"protocol"` // "1.0" (default: every receiver speaks it) or "2.0"
	Timeout  time.Duration     `yaml:"timeout"`  // default 30s
	Headers  map[string]string `yaml:"headers"`
	// Credentials, read from files at load time.
	BasicAuth *struct {
		Username     string `yaml:"username"`
		PasswordFile string `yaml:"password_file"`
	} `yaml:"basic_auth"`
	BearerTokenFile string `yaml:"bearer_token_file"`

	proto       Protocol
	password    string
	bearerToken string
}

// UnmarshalYAML defaults and validates, rejecting unknown keys (the
// loader decodes strictly).
func (d *Downstream) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Downstream
	if err := unmarshal((*plain)(d)); err != nil {
		return err
	}
	return d.init()
}

func (d *Downstream) init() error {
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("downstream url %q: not an http(s) URL", d.URL)
	}
	if u.User != nil {
		return fmt.Errorf("downstream url %s: credentials in the URL are not accepted, use basic_auth.password_file", u.Redacted())
	}
	switch d.Protocol {
	case "", "1.0", "1":
		d.proto = V1
	case "2.0", "2":
		d.proto = V2
	default:
		return fmt.Errorf("downstream %s: protocol %q: want 1.0 or 2.0", d.URL, d.Protocol)
	}
	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	if d.Name == "" {
		d.Name = u.Host + u.Path
	}
	if d.BasicAuth != nil {
		if d.BasicAuth.PasswordFile == "" {
			return fmt.Errorf("downstream %s: basic_auth needs password_file", d.Name)
		}
		b, err := os.ReadFile(d.BasicAuth.PasswordFile)
		if err != nil {
			return fmt.Errorf("downstream %s: reading basic_auth.password_file: %w", d.Name, err)
		}
		d.password = strings.TrimSpace(string(b))
	}
	if d.BearerTokenFile != "" {
		b, err := os.ReadFile(d.BearerTokenFile)
		if err != nil {
			return fmt.Errorf("downstream %s: reading bearer_token_file: %w", d.Name, err)
		}
		d.bearerToken = strings.TrimSpace(string(b))
	}
	return nil
}

// NewDownstream is a downstream at url speaking protocol ("1.0" or "2.0")
// with default settings.
func NewDownstream(rawURL, protocol string, timeout time.Duration) (Downstream, error) {
	d := Downstream{URL: rawURL, Protocol: protocol, Timeout: timeout}
	return d, d.init()
}

// LoadDownstreams reads a YAML file: a list of downstreams, e.g.
//
//   - url: http://prometheus:9090/api/v1/write
//     protocol: "1.0"
//     timeout: 10s
//     headers: {X-Scope-OrgID: team-a}
//     basic_auth: {username: kubetopo, password_file: /etc/secret/pw}
func LoadDownstreams(path string) ([]Downstream, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the forward config file: %w", err)
	}
	var ds []Downstream
	if err := yaml.UnmarshalStrict(b, &ds); err != nil {
		return nil, fmt.Errorf("forward config file %s: %w", path, err)
	}
	return ds, nil
}

// result is what one downstream answered.
type result struct {
	code       int // 0: no answer (connection error, timeout)
	err        error
	retryAfter string
	written    Counts
	confirmed  bool // RW 2.0 -Written headers present
	// bodyHeld: net/http may still read the body after send returned (the
	// downstream answered before it had the whole body, or a write timed
	// out mid-body). The caller must not reuse the buffer.
	bodyHeld bool
}

func (res result) ok() bool { return res.err == nil && res.code/100 == 2 }

// retryable: the sender should retry (connection errors, timeouts, 5xx, 429).
func (res result) retryable() bool {
	return res.code == 0 || res.code/100 == 5 || res.code == http.StatusTooManyRequests
}

var errRejected = errors.New("downstream rejected the write")

// send posts the compressed body to d.
func send(ctx context.Context, client *http.Client, d *Downstream, body []byte, ua string) (res result) {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, nil)
	if err != nil {
		return result{err: err}
	}
	// A bodyReader, not a bytes.Reader: directConn writes it to the socket
	// in one piece. GetBody as http.NewRequest sets it for a bytes.Reader
	// (the transport resends a request it could not write at all). open
	// counts the readers net/http has not finished with: the transport's
	// writer may still be sending the body when the response has arrived
	// (RoundTrip's contract), and then the buffer must not be reused.
	open := new(atomic.Int32)
	req.Body, req.ContentLength = newBodyReader(body, open), int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return newBodyReader(body, open), nil }
	defer func() { res.bodyHeld = open.Load() > 0 }()
	h := req.Header
	h.Set("Content-Encoding", "snappy")
	h.Set("User-Agent", ua)
	if d.proto == V2 {
		h.Set("Content-Type", contentTypeV2)
		h.Set(versionHeader, "2.0.0")
	} else {
		h.Set("Content-Type", contentTypeV1)
		h.Set(versionHeader, "0.1.0")
	}
	for k, v := range d.Headers {
		h.Set(k, v)
	}
	if d.BasicAuth != nil {
		req.SetBasicAuth(d.BasicAuth.Username, d.password)
	}
	if d.bearerToken != "" {
		h.Set("Authorization", "Bearer "+d.bearerToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	res = result{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if d.proto == V2 {
		res.written, res.confirmed = parseWritten(resp.Header)
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		res.err = fmt.Errorf("%w: %s: %s", errRejected, resp.Status, strings.TrimSpace(string(msg)))
		return res
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	return res
}

func parseWritten(h http.Header) (Counts, bool) {
	var c Counts
	confirmed := false
	for _, f := range []struct {
		name string
		dst  *int
	}{{writtenSamples, &c.Samples}, {writtenHistograms, &c.Histograms}, {writtenExemplars, &c.Exemplars}} {
		if v := h.Get(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err == nil {
				*f.dst = n
				confirmed = true
			}
		}
	}
	return c, confirmed
}

// bodyReader is a request body forwarded downstream: the sender's bytes or
// the re-encoded ones. It counts itself in open until net/http has taken
// every byte out of it or closed it, whichever comes first; after that it no
// longer touches the buffer.
type bodyReader struct {
	b    []byte
	open *atomic.Int32
	done atomic.Bool
}

func newBodyReader(b []byte, open *atomic.Int32) *bodyReader {
	open.Add(1)
	return &bodyReader{b: b, open: open}
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		r.finish()
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	if len(r.b) == 0 {
		r.finish()
	}
	return n, nil
}

func (r *bodyReader) Close() error {
	r.finish()
	return nil
}

// finish records that the buffer is no longer read through r.
func (r *bodyReader) finish() {
	if r.done.CompareAndSwap(false, true) {
		r.open.Add(-1)
	}
}

// directConn is a plain-TCP connection to a downstream. net/http writes a
// body of known length with io.Copy from an io.LimitedReader, which copies it
// through a fresh 32 KB buffer and writes it 32 KB at a time: for a 320 KB
// RW 1.0 batch, ten write syscalls, a 32 KB allocation and a copy of every
// byte per forward. ReadFrom recognises a bodyReader inside the
// LimitedReader and writes it with one Write instead (the kernel's loopback
// or TCP stack then takes it in large segments); everything else takes the
// usual path. With TLS the transport wraps this connection in a tls.Conn,
// which writes records of its own, so nothing changes there.
type directConn struct{ net.Conn }

func (c directConn) ReadFrom(src io.Reader) (int64, error) {
	if lr, ok := src.(*io.LimitedReader); ok {
		if br, ok := lr.R.(*bodyReader); ok && int64(len(br.b)) <= lr.N {
			n, err := c.Conn.Write(br.b)
			br.b = br.b[n:]
			lr.N -= int64(n)
			if len(br.b) == 0 {
				br.finish()
			}
			return int64(n), err
		}
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, src)
}

// newTransport is the default transport to the downstreams: keep-alive
// connections (up to maxIdle per host, so that concurrent forwards reuse
// theirs), made directConns.
func newTransport(maxIdlePerHost, maxIdle int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdlePerHost
	t.MaxIdleConns = maxIdle
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return directConn{c}, nil
	}
	return t
}
