package standin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// TextContentType is what kubelets and kube-state-metrics answer with.
const TextContentType = "text/plain; version=0.0.4; charset=utf-8"

// Options describe a stand-in server.
type Options struct {
	// Pages maps a URL path ("/metrics/cadvisor") to the exposition served there.
	Pages map[string][]byte
	// ContentType of every page; TextContentType when empty.
	ContentType string
	// TLS serves HTTPS with a fresh self-signed certificate for 127.0.0.1
	// (see Server.CertPEM and Server.CertPool).
	TLS bool
	// BearerToken, when set, is required as "Authorization: Bearer <token>";
	// other requests get 401 (no token) or 403 (wrong token), as a kubelet
	// answers.
	BearerToken string
}

// Server is a running stand-in on a free loopback port.
type Server struct {
	// URL is the base URL, e.g. "https://127.0.0.1:41234".
	URL string
	// CertPEM is the PEM certificate of a TLS stand-in (its own CA).
	CertPEM []byte
	// CertPool trusts CertPEM.
	CertPool *x509.CertPool

	srv      *http.Server
	mu       sync.RWMutex
	pages    map[string][]byte
	ctype    string
	token    string
	requests atomic.Int64
	denied   atomic.Int64
}

// Start serves o's pages on 127.0.0.1 on a free port until Close.
func Start(o Options) (*Server, error) {
	s := &Server{pages: map[string][]byte{}, ctype: o.ContentType, token: o.BearerToken}
	if s.ctype == "" {
		s.ctype = TextContentType
	}
	for p, b := range o.Pages {
		s.pages[p] = b
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("stand-in listen: %w", err)
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if o.TLS {
		cert, certPEM, err := selfSigned()
		if err != nil {
			l.Close()
			return nil, err
		}
		s.CertPEM = certPEM
		s.CertPool = x509.NewCertPool()
		s.CertPool.AppendCertsFromPEM(certPEM)
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	s.URL = scheme + "://" + l.Addr().String()
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// SetPage replaces (or, with nil, removes) the page at path.
func (s *Server) SetPage(path string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b == nil {
		delete(s.pages, path)
		return
	}
	s.pages[path] = b
}

// Requests is the number of authorised page requests served so far, and
// Denied the number refused for a missing or wrong token.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Denied is the number of requests refused for a missing or wrong token.
func (s *Server) Denied() int64 { return s.denied.Load() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.token != "" {
		got := r.Header.Get("Authorization")
		if got == "" {
			s.denied.Add(1)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+s.token)) != 1 {
			s.denied.Add(1)
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
	}
	s.mu.RLock()
	b, ok := s.pages[r.URL.Path]
	s.mu.RUnlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.requests.Add(1)
	w.Header().Set("Content-Type", s.ctype)
	_, _ = w.Write(b)
}

func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("stand-in key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "kubetopo stand-in"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("stand-in certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
