package nodeagent

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubetopo/kubetopo/internal/republish"
)

// DefaultKubeletEndpoints are the kubelet paths scraped by default.
var DefaultKubeletEndpoints = []string{"/metrics", "/metrics/cadvisor", "/metrics/resource", "/metrics/probes"}

// KubeletOptions say how to reach the node's kubelet.
type KubeletOptions struct {
	// Scheme and Host:Port of the kubelet, e.g. https, the node's IP, 10250.
	Scheme string
	Host   string
	Port   int
	// Endpoints are the paths to scrape (DefaultKubeletEndpoints when nil).
	Endpoints []string
	// TokenFile holds the bearer token (the service-account token); it is
	// re-read on every scrape so a rotated token is used. Empty: no token.
	TokenFile string
	// CAFile verifies the kubelet's serving certificate; empty uses the
	// system roots. InsecureSkipVerify skips verification (kubelets with
	// self-signed serving certificates, as metrics-server's
	// --kubelet-insecure-tls).
	CAFile             string
	InsecureSkipVerify bool
	Timeout            time.Duration
	MaxBytes           int64
}

// kubeletSources builds one republish source per kubelet endpoint, each
// labelled metrics_path=<path> so that the endpoints' series stay apart (as
// the Prometheus Operator's kubelet ServiceMonitor labels them).
func kubeletSources(o KubeletOptions, cluster string, res *Resolver) ([]republish.Source, error) {
	client, err := kubeletClient(o)
	if err != nil {
		return nil, err
	}
	var token func() (string, error)
	if o.TokenFile != "" {
		path := o.TokenFile
		token = func() (string, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("--kubelet.token-file: %w", err)
			}
			return strings.TrimSpace(string(b)), nil
		}
	}
	eps := o.Endpoints
	if eps == nil {
		eps = DefaultKubeletEndpoints
	}
	base := o.Scheme + "://" + net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	srcs := make([]republish.Source, 0, len(eps))
	for _, p := range eps {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("--kubelet.endpoints: %q is not a path", p)
		}
		srcs = append(srcs, republish.Source{
			Name: "kubelet" + p, URL: base + p, Client: client, Token: token,
			Timeout: o.Timeout, MaxBytes: o.MaxBytes,
			Render: republish.RenderOptions{
				Cluster: cluster, Resolve: res.Kubelet,
				Labels: []labels.Label{{Name: "metrics_path", Value: p}},
			},
		})
	}
	return srcs, nil
}

func kubeletClient(o KubeletOptions) (*http.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // opt-in flag
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--kubelet.ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--kubelet.ca-file: no PEM certificate in %s", o.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = 8
	return &http.Client{Transport: tr}, nil
}
