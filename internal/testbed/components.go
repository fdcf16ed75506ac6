package testbed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	serviceCIDR = "10.96.0.0/16"
	clusterCIDR = "10.244.0.0/16"
	// readyTimeout bounds each readiness wait when the caller's context has no deadline.
	readyTimeout = 2 * time.Minute
	pollInterval = 100 * time.Millisecond
)

// admissionPlugins are enabled on top of the apiserver's defaults (the kubeadm choice).
const admissionPlugins = "NodeRestriction"

// readyFunc checks once whether a component is ready.
type readyFunc func(ctx context.Context) error

// component returns the command-line arguments and readiness check of a component.
func (c *Cluster) component(name string) ([]string, readyFunc, error) {
	port := func(k string) string { return strconv.Itoa(c.st.Ports[k]) }
	local := func(k string) string { return "127.0.0.1:" + port(k) }
	kubeconfig := func(n string) string { return filepath.Join(c.StateDir, n+".kubeconfig") }
	p := c.pki
	switch name {
	case Etcd:
		return []string{
			"--name=testbed",
			"--data-dir=" + filepath.Join(c.StateDir, "etcd"),
			"--listen-client-urls=http://" + local(Etcd),
			"--advertise-client-urls=http://" + local(Etcd),
			"--listen-peer-urls=http://" + local("etcd-peer"),
			"--initial-advertise-peer-urls=http://" + local("etcd-peer"),
			"--initial-cluster=testbed=http://" + local("etcd-peer"),
			"--logger=zap",
			"--log-level=warn",
		}, c.httpCheck(plainClient(), "http://"+local(Etcd)+"/health", `"health":"true"`), nil
	case APIServer:
		return []string{
			"--etcd-servers=http://" + local(Etcd),
			"--secure-port=" + port(APIServer),
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--endpoint-reconciler-type=none",
			"--service-cluster-ip-range=" + serviceCIDR,
			"--authorization-mode=Node,RBAC",
			"--client-ca-file=" + p.caCert,
			"--tls-cert-file=" + p.servingCert,
			"--tls-private-key-file=" + p.servingKey,
			"--kubelet-client-certificate=" + p.clientCert["admin"],
			"--kubelet-client-key=" + p.clientKey["admin"],
			"--service-account-issuer=https://kubernetes.default.svc",
			"--service-account-key-file=" + p.serviceAccountPub,
			"--service-account-signing-key-file=" + p.serviceAccountKey,
			"--requestheader-client-ca-file=" + p.frontProxyCACert,
			"--requestheader-allowed-names=front-proxy-client",
			"--requestheader-username-headers=X-Remote-User",
			"--requestheader-group-headers=X-Remote-Group",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
			"--proxy-client-cert-file=" + p.frontProxyClientCert,
			"--proxy-client-key-file=" + p.frontProxyKey,
			"--allow-privileged=true",
			"--enable-admission-plugins=" + admissionPlugins,
			"--cert-dir=" + filepath.Join(c.StateDir, "certs", name),
		}, c.httpCheck(c.admin, c.Server()+"/readyz", ""), nil
	case ControllerManager:
		return append([]string{
			"--kubeconfig=" + kubeconfig(name),
			"--authentication-kubeconfig=" + kubeconfig(name),
			"--authorization-kubeconfig=" + kubeconfig(name),
			"--root-ca-file=" + p.caCert,
			"--service-account-private-key-file=" + p.serviceAccountKey,
			"--cluster-signing-cert-file=" + p.caCert,
			"--cluster-signing-key-file=" + p.caKey,
			"--use-service-account-credentials=true",
			"--controllers=*",
			"--allocate-node-cidrs=true",
			"--cluster-cidr=" + clusterCIDR,
			"--node-cidr-mask-size=24",
			"--service-cluster-ip-range=" + serviceCIDR,
			"--flex-volume-plugin-dir=" + filepath.Join(c.StateDir, "flex"),
			"--kube-api-qps=100",
			"--kube-api-burst=200",
			"--secure-port=" + port(name),
			"--bind-address=127.0.0.1",
			"--cert-dir=" + filepath.Join(c.StateDir, "certs", name),
			"--leader-elect=false",
			// kwok renews node leases from a shared, often loaded machine: a
			// node must not turn NotReady (and its pods Ready=False) because a
			// renewal was late. Suites that want a node to go NotReady fast
			// pass a shorter period in ControllerManagerArgs (a later flag wins).
			"--node-monitor-grace-period=2m",
		}, c.st.ControllerManagerArgs...), c.httpCheck(insecureClient(), "https://"+local(name)+"/healthz", ""), nil
	case Scheduler:
		return []string{
			"--kubeconfig=" + kubeconfig(name),
			"--authentication-kubeconfig=" + kubeconfig(name),
			"--authorization-kubeconfig=" + kubeconfig(name),
			"--kube-api-qps=100",
			"--kube-api-burst=200",
			"--secure-port=" + port(name),
			"--bind-address=127.0.0.1",
			"--cert-dir=" + filepath.Join(c.StateDir, "certs", name),
			"--leader-elect=false",
		}, c.httpCheck(insecureClient(), "https://"+local(name)+"/healthz", ""), nil
	case Kwok:
		// kwok v0.7.0 applies its default node (init + heartbeat with lease) and pod (ready,
		// complete, delete) stages when no Stage is configured, so no config file is needed.
		return append([]string{
			"--kubeconfig=" + kubeconfig(name),
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=" + kwokAnnotation + "=fake",
			"--manage-nodes-with-label-selector=",
			"--manage-single-node=",
			"--cidr=10.244.0.1/16",
			"--node-ip=127.0.0.1",
			"--server-address=" + local(name),
			// Renew node leases every ~3 s instead of every ~10 s.
			"--node-lease-duration-seconds=12",
		}, c.st.KwokArgs...), c.httpCheck(plainClient(), "http://"+local(name)+"/healthz", ""), nil
	}
	return nil, nil, fmt.Errorf("testbed: unknown component %q", name)
}

// waitReady polls ready until it succeeds, the process exits or ctx (or readyTimeout) ends.
func (c *Cluster) waitReady(ctx context.Context, p *process, ready readyFunc) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	start := time.Now()
	exited := p.exited()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			c.logf("testbed: %s ready after %s", p.name, time.Since(start).Round(time.Millisecond))
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("testbed: %s (pid %d) exited before it was ready; log tail:\n%s", p.name, p.pid, c.LogTail(p.name, 30))
		case <-ctx.Done():
			return fmt.Errorf("testbed: %s not ready after %s: %w (last check: %v); log tail:\n%s",
				p.name, time.Since(start).Round(time.Millisecond), ctx.Err(), err, c.LogTail(p.name, 30))
		case <-tick.C:
		}
	}
}

// httpCheck returns a check that GETs url and wants 200 and, if non-empty, want in the body.
func (c *Cluster) httpCheck(client *http.Client, url, want string) readyFunc {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %s", url, resp.Status, firstLine(string(body)))
		}
		if want != "" && !strings.Contains(string(body), want) {
			return fmt.Errorf("GET %s: body %q lacks %q", url, firstLine(string(body)), want)
		}
		return nil
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// HTTPClient returns a client that trusts the cluster CA and authenticates as the admin
// (system:masters).
func (c *Cluster) HTTPClient() *http.Client { return c.admin }

func (c *Cluster) adminClient() (*http.Client, error) {
	caPEM, err := os.ReadFile(c.pki.caCert)
	if err != nil {
		return nil, fmt.Errorf("testbed: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("testbed: no certificate in " + c.pki.caCert)
	}
	cert, err := tls.LoadX509KeyPair(c.pki.clientCert["admin"], c.pki.clientKey["admin"])
	if err != nil {
		return nil, fmt.Errorf("testbed: load admin certificate: %w", err)
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 10,
		IdleConnTimeout:     30 * time.Second,
	}}, nil
}

func plainClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

// insecureClient is for the /healthz of controller-manager and scheduler, which serve a
// self-signed certificate on 127.0.0.1 (and allow anonymous /healthz).
func insecureClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health check only
	}}
}
