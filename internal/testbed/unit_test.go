package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestGeneratePKI(t *testing.T) {
	p := newPKIPaths(filepath.Join(t.TempDir(), "pki"))
	if err := generatePKI(p); err != nil {
		t.Fatal(err)
	}
	ca := readCert(t, p.caCert)
	if !ca.IsCA {
		t.Fatal("CA certificate is not a CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	serving := readCert(t, p.servingCert)
	for _, name := range []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "127.0.0.1", "10.96.0.1"} {
		if _, err := serving.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate for %s: %v", name, err)
		}
	}
	if _, err := serving.Verify(x509.VerifyOptions{Roots: roots, DNSName: "example.com"}); err == nil {
		t.Error("serving certificate verifies for example.com")
	}
	if _, err := tls.LoadX509KeyPair(p.servingCert, p.servingKey); err != nil {
		t.Errorf("serving key pair: %v", err)
	}

	tests := []struct {
		name, cn string
		groups   []string
	}{
		{"admin", "kubetopo-admin", []string{"system:masters"}},
		{"controller-manager", "system:kube-controller-manager", nil},
		{"scheduler", "system:kube-scheduler", nil},
		{"kwok", "kwok-controller", []string{"system:masters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := readCert(t, p.clientCert[tt.name])
			if cert.Subject.CommonName != tt.cn || !slices.Equal(cert.Subject.Organization, tt.groups) {
				t.Errorf("subject = %q %q, want %q %q", cert.Subject.CommonName, cert.Subject.Organization, tt.cn, tt.groups)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("verify with CA: %v", err)
			}
			if _, err := tls.LoadX509KeyPair(p.clientCert[tt.name], p.clientKey[tt.name]); err != nil {
				t.Errorf("key pair: %v", err)
			}
		})
	}

	fpRoots := x509.NewCertPool()
	fpRoots.AddCert(readCert(t, p.frontProxyCACert))
	fp := readCert(t, p.frontProxyClientCert)
	if _, err := fp.Verify(x509.VerifyOptions{Roots: fpRoots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("front-proxy client: %v", err)
	}
	if _, err := fp.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("front-proxy client verifies with the cluster CA; want a separate CA")
	}

	keyPEM, err := os.ReadFile(p.serviceAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	saKey, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("service-account key is not PKCS#1 RSA: %v", err)
	}
	pubPEM, err := os.ReadFile(p.serviceAccountPub)
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(pubPEM)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !saKey.PublicKey.Equal(pub) {
		t.Error("sa.pub does not match sa.key")
	}
}

func TestWriteKubeconfig(t *testing.T) {
	dir := t.TempDir()
	p := newPKIPaths(filepath.Join(dir, "pki"))
	if err := generatePKI(p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(path, "https://127.0.0.1:6443", p.caCert, p.clientCert["admin"], p.clientKey["admin"], "admin"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server: https://127.0.0.1:6443", "certificate-authority-data: ", "client-certificate-data: ", "client-key-data: ", "current-context: kubetopo-testbed"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("kubeconfig lacks %q", want)
		}
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := freePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, port := range ports {
		if port <= 0 || port > 65535 || seen[port] {
			t.Fatalf("bad or repeated port %d in %v", port, ports)
		}
		seen[port] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d is not free after freePorts returned: %v", port, err)
		}
		_ = l.Close()
	}
}

// TestStopStale checks the crash-safety rule: a recorded process that runs a testbed binary is
// stopped, a recorded PID that belongs to anything else is left alone.
func TestStopStale(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	binDir := t.TempDir()
	fakeEtcd := filepath.Join(binDir, "etcd")
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fakeEtcd, b, 0o755); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()

	ours, err := startProcess(stateDir, Etcd, fakeEtcd, []string{"300"}, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ours.stop() })

	unrelated := exec.Command(sleep, "300")
	if err := unrelated.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unrelated.Process.Kill(); _ = unrelated.Wait() })
	if err := os.WriteFile(pidFile(stateDir, APIServer), []byte(strconv.Itoa(unrelated.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := stopStale(stateDir, binDir, t.Logf); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ours.done:
	case <-time.After(10 * time.Second):
		t.Fatal("recorded testbed process still runs after stopStale")
	}
	if !pidAlive(unrelated.Process.Pid) {
		t.Fatal("stopStale killed a process that is not a testbed binary")
	}
	for _, name := range []string{Etcd, APIServer} {
		if _, err := os.Stat(pidFile(stateDir, name)); !os.IsNotExist(err) {
			t.Errorf("pid file of %s not removed: %v", name, err)
		}
	}
}

func TestPrepareStateDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareStateDir(dir); err == nil {
		t.Fatal("prepareStateDir wiped a dir without the marker")
	}
	if _, err := os.Stat(filepath.Join(dir, "precious")); err != nil {
		t.Fatal("file in an unmarked dir was removed")
	}

	state := filepath.Join(dir, "state")
	if err := prepareStateDir(state); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "old"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareStateDir(state); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, "old")); !os.IsNotExist(err) {
		t.Fatal("marked state dir was not wiped")
	}
}
