package testbed

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// apiserverSANs are the names the apiserver's serving certificate is valid for: loopback for the
// test clients, the in-cluster Service names and the first Service IP for anything that uses them.
var (
	apiserverDNSNames = []string{
		"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local",
	}
	apiserverIPs = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}
)

// certKeyPair is a certificate with its private key.
type certKeyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// clientIdentity describes one client certificate and the kubeconfig made from it.
type clientIdentity struct {
	name   string // file stem: pki/<name>.crt, <name>.kubeconfig
	cn     string
	groups []string
}

// clientIdentities are the clients the harness creates kubeconfigs for. The admin kubeconfig is
// written as <StateDir>/kubeconfig; the others as <StateDir>/<name>.kubeconfig.
var clientIdentities = []clientIdentity{
	{name: "admin", cn: "kubetopo-admin", groups: []string{"system:masters"}},
	{name: "controller-manager", cn: "system:kube-controller-manager"},
	{name: "scheduler", cn: "system:kube-scheduler"},
	{name: "kwok", cn: "kwok-controller", groups: []string{"system:masters"}},
}

// pkiPaths are the files generatePKI writes under <StateDir>/pki.
type pkiPaths struct {
	dir                                  string
	caCert, caKey                        string
	servingCert, servingKey              string
	frontProxyCACert, frontProxyCAKey    string
	frontProxyClientCert, frontProxyKey  string
	serviceAccountKey, serviceAccountPub string
	clientCert                           map[string]string
	clientKey                            map[string]string
}

func newPKIPaths(dir string) pkiPaths {
	p := pkiPaths{
		dir:                  dir,
		caCert:               filepath.Join(dir, "ca.crt"),
		caKey:                filepath.Join(dir, "ca.key"),
		servingCert:          filepath.Join(dir, "apiserver.crt"),
		servingKey:           filepath.Join(dir, "apiserver.key"),
		frontProxyCACert:     filepath.Join(dir, "front-proxy-ca.crt"),
		frontProxyCAKey:      filepath.Join(dir, "front-proxy-ca.key"),
		frontProxyClientCert: filepath.Join(dir, "front-proxy-client.crt"),
		frontProxyKey:        filepath.Join(dir, "front-proxy-client.key"),
		serviceAccountKey:    filepath.Join(dir, "sa.key"),
		serviceAccountPub:    filepath.Join(dir, "sa.pub"),
		clientCert:           map[string]string{},
		clientKey:            map[string]string{},
	}
	for _, id := range clientIdentities {
		p.clientCert[id.name] = filepath.Join(dir, id.name+".crt")
		p.clientKey[id.name] = filepath.Join(dir, id.name+".key")
	}
	return p
}

// generatePKI creates every certificate and key the cluster needs and writes them to p.dir.
func generatePKI(p pkiPaths) error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("create pki dir: %w", err)
	}
	ca, err := newCA("kubetopo-testbed-ca")
	if err != nil {
		return err
	}
	if err := writePair(ca, p.caCert, p.caKey); err != nil {
		return err
	}
	serving, err := newLeaf(ca, x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    apiserverDNSNames,
		IPAddresses: apiserverIPs,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return err
	}
	if err := writePair(serving, p.servingCert, p.servingKey); err != nil {
		return err
	}
	for _, id := range clientIdentities {
		leaf, err := newLeaf(ca, clientTemplate(id.cn, id.groups))
		if err != nil {
			return err
		}
		if err := writePair(leaf, p.clientCert[id.name], p.clientKey[id.name]); err != nil {
			return err
		}
	}

	fpCA, err := newCA("kubetopo-testbed-front-proxy-ca")
	if err != nil {
		return err
	}
	if err := writePair(fpCA, p.frontProxyCACert, p.frontProxyCAKey); err != nil {
		return err
	}
	fpClient, err := newLeaf(fpCA, clientTemplate("front-proxy-client", nil))
	if err != nil {
		return err
	}
	if err := writePair(fpClient, p.frontProxyClientCert, p.frontProxyKey); err != nil {
		return err
	}

	// Service-account tokens are signed with RSA (RS256), the algorithm every consumer accepts.
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return fmt.Errorf("marshal service-account public key: %w", err)
	}
	if err := writePEM(p.serviceAccountKey, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey), 0o600); err != nil {
		return err
	}
	return writePEM(p.serviceAccountPub, "PUBLIC KEY", pub, 0o644)
}

func clientTemplate(cn string, groups []string) x509.Certificate {
	return x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func newCA(cn string) (certKeyPair, error) {
	key, err := newKey()
	if err != nil {
		return certKeyPair{}, err
	}
	sn, err := serial()
	if err != nil {
		return certKeyPair{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return certKeyPair{}, fmt.Errorf("create CA %q: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return certKeyPair{}, fmt.Errorf("parse CA %q: %w", cn, err)
	}
	return certKeyPair{cert: cert, key: key}, nil
}

// newLeaf signs a certificate from tmpl (subject, SANs, extended key usage) with ca.
func newLeaf(ca certKeyPair, tmpl x509.Certificate) (certKeyPair, error) {
	key, err := newKey()
	if err != nil {
		return certKeyPair{}, err
	}
	sn, err := serial()
	if err != nil {
		return certKeyPair{}, err
	}
	now := time.Now()
	tmpl.SerialNumber = sn
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(5 * 365 * 24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return certKeyPair{}, fmt.Errorf("create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return certKeyPair{}, fmt.Errorf("parse certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return certKeyPair{cert: cert, key: key}, nil
}

func writePair(kp certKeyPair, certPath, keyPath string) error {
	if err := writePEM(certPath, "CERTIFICATE", kp.cert.Raw, 0o644); err != nil {
		return err
	}
	ec, ok := kp.key.(*ecdsa.PrivateKey)
	if !ok {
		return fmt.Errorf("write %s: unexpected key type %T", keyPath, kp.key)
	}
	der, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		return fmt.Errorf("marshal key %s: %w", keyPath, err)
	}
	return writePEM(keyPath, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeKubeconfig writes a kubeconfig for server with the CA and the client's certificate and key
// embedded, so the file stays valid when copied elsewhere.
func writeKubeconfig(path, server, caFile, certFile, keyFile, user string) error {
	enc := func(file string) (string, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("kubeconfig %s: %w", path, err)
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
	ca, err := enc(caFile)
	if err != nil {
		return err
	}
	crt, err := enc(certFile)
	if err != nil {
		return err
	}
	key, err := enc(keyFile)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Config
clusters:
- name: kubetopo-testbed
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: kubetopo-testbed
  context:
    cluster: kubetopo-testbed
    user: %s
current-context: kubetopo-testbed
`, server, ca, user, crt, key, user)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
