//go:build integration

package receiver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
	"github.com/kubetopo/kubetopo/remotewrite/rwtest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubetopo-receiver-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestWebConfig: TLS and basic auth come from --web.config.file
// (exporter-toolkit) and apply on top of the API key.
func TestWebConfig(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("web-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "web.yml")
	writeFile(t, cfg, "tls_server_config:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+"\nbasic_auth_users:\n  web: "+string(hash)+"\n")

	// startReceiver polls plain-HTTP readiness; with TLS, poll here.
	addr := testenv.FreeAddr(t)
	keys := filepath.Join(dir, "keys")
	writeFile(t, keys, apiKey+"\n")
	r := &receiver{URL: "https://" + addr, log: filepath.Join(dir, "receiver.log"), done: make(chan struct{})}
	logf, _ := os.Create(r.log)
	r.cmd = newCmd(testenv.Binary(receiverName), "--web.listen-address="+addr, "--web.config.file="+cfg, "--auth.api-key-file="+keys)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); logf.Close(); close(r.done) }()
	t.Cleanup(func() { r.stop(t) })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	body := rwtest.Snappy(rwtest.V1(rwtest.Options{Series: 10}))
	post := func(webAuth, key bool) int {
		req, _ := http.NewRequest(http.MethodPost, r.URL+"/api/v1/write", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ctV1)
		req.Header.Set("Content-Encoding", "snappy")
		if webAuth {
			req.SetBasicAuth("web", "web-password")
		}
		if key {
			req.Header.Set("X-API-Key", apiKey)
		}
		resp, err := client.Do(req)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, ctx, "the TLS listener", func() (bool, string) {
		c := post(true, true)
		return c == 204, "status " + itoa(c)
	})
	for _, c := range []struct {
		name         string
		webAuth, key bool
		want         int
	}{{"neither", false, false, 401}, {"only the API key", false, true, 401}, {"only web basic auth", true, false, 401}, {"both", true, true, 204}} {
		if got := post(c.webAuth, c.key); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	resp, err := http.Post("http://"+addr+"/api/v1/write", ctV1, strings.NewReader(string(body)))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			t.Error("plain HTTP write accepted on a TLS listener")
		}
	}
}
