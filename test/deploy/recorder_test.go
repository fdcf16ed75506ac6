//go:build integration

package deploy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// access is one authorization-relevant request: a verb on a resource (with its API group and
// subresource) or on a non-resource URL, as the apiserver's RBAC authorizer sees it.
type access struct {
	Group, Resource, Verb string // Resource is "pods" or "pods/log"
	NonResourceURL        string
}

func (a access) String() string {
	if a.NonResourceURL != "" {
		return a.Verb + " " + a.NonResourceURL
	}
	g := a.Group
	if g == "" {
		g = "core"
	}
	return fmt.Sprintf("%s %s/%s", a.Verb, g, a.Resource)
}

// recorder is a reverse proxy in front of the apiserver that records every request a client
// makes and every answer it gets: the client's own account of what it needs, without touching
// its code. It listens on loopback with its own certificate and talks TLS to the apiserver.
type recorder struct {
	URL string // https://127.0.0.1:<port>
	CA  []byte // PEM of the certificate it serves

	mu        sync.Mutex
	accesses  map[access]int
	forbidden []string
}

func startRecorder(t testing.TB, apiserver, caFile string) *recorder {
	t.Helper()
	target, err := url.Parse(apiserver)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("no certificate in %s", caFile)
	}
	r := &recorder{accesses: map[access]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	proxy.FlushInterval = -1 // watches stream
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			r.mu.Lock()
			auth := "with"
			if resp.Request.Header.Get("Authorization") == "" {
				auth = "without"
			}
			r.forbidden = append(r.forbidden, fmt.Sprintf("%s %s (%s credentials) → %s %s", resp.Request.Method, resp.Request.URL.RequestURI(), auth, resp.Status, body))
			r.mu.Unlock()
		}
		return nil
	}
	// TLS: clientcmd passes a kubeconfig's token on only to an https server.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a := classify(req.Method, req.URL)
		r.mu.Lock()
		r.accesses[a]++
		r.mu.Unlock()
		proxy.ServeHTTP(w, req)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	r.CA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return r
}

// Accesses returns the distinct accesses seen so far.
func (r *recorder) Accesses() map[access]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[access]bool{}
	for a := range r.accesses {
		out[a] = true
	}
	return out
}

// Forbidden returns every request the apiserver refused (401 or 403).
func (r *recorder) Forbidden() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.forbidden...)
}

// classify maps a request to what RBAC authorizes, as the apiserver's RequestInfoFactory does:
// /api/v1/... and /apis/<group>/<version>/... are resource requests, everything else is a
// non-resource URL.
func classify(method string, u *url.URL) access {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	var group string
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		group, rest = parts[1], parts[3:]
	default:
		return access{NonResourceURL: u.Path, Verb: strings.ToLower(method)}
	}
	if len(rest) == 0 { // discovery of one group version
		return access{NonResourceURL: u.Path, Verb: strings.ToLower(method)}
	}
	if rest[0] == "namespaces" && len(rest) > 2 {
		rest = rest[2:] // namespaced: namespaces/<ns>/<resource>/...
	}
	a := access{Group: group, Resource: rest[0]}
	named := len(rest) >= 2
	if len(rest) >= 3 {
		a.Resource += "/" + rest[2]
	}
	q := u.Query()
	switch method {
	case http.MethodGet, http.MethodHead:
		switch {
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			a.Verb = "watch"
		case named:
			a.Verb = "get"
		default:
			a.Verb = "list"
		}
	case http.MethodPost:
		a.Verb = "create"
	case http.MethodPut:
		a.Verb = "update"
	case http.MethodPatch:
		a.Verb = "patch"
	case http.MethodDelete:
		a.Verb = "delete"
		if !named {
			a.Verb = "deletecollection"
		}
	default:
		a.Verb = strings.ToLower(method)
	}
	return a
}

// grants expands ClusterRole rules into the accesses they allow. Wildcards are refused: a
// least-privilege role names what it grants.
func grants(t testing.TB, rules []any) map[access]bool {
	t.Helper()
	out := map[access]bool{}
	strs := func(r map[string]any, k string) []string {
		var s []string
		if v, ok := r[k].([]any); ok {
			for _, x := range v {
				s = append(s, x.(string))
			}
		}
		return s
	}
	for _, x := range rules {
		r := x.(map[string]any)
		if len(strs(r, "resourceNames")) > 0 {
			t.Errorf("rule %v names resourceNames: the comparison does not model them", r)
		}
		for _, verb := range strs(r, "verbs") {
			for _, u := range strs(r, "nonResourceURLs") {
				out[access{NonResourceURL: u, Verb: verb}] = true
			}
			for _, g := range strs(r, "apiGroups") {
				for _, res := range strs(r, "resources") {
					if verb == "*" || g == "*" || res == "*" {
						t.Errorf("rule %v uses a wildcard", r)
					}
					out[access{Group: g, Resource: res, Verb: verb}] = true
				}
			}
		}
	}
	return out
}

func sortedAccesses(m map[access]bool) []string {
	var s []string
	for a := range m {
		s = append(s, a.String())
	}
	sort.Strings(s)
	return s
}

// minus returns the accesses of a not in b.
func minus(a, b map[access]bool) map[access]bool {
	out := map[access]bool{}
	for x := range a {
		if !b[x] {
			out[x] = true
		}
	}
	return out
}
