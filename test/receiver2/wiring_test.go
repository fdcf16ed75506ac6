//go:build integration

package receiver2

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

func startOptions(t *testing.T) testbed.Options {
	stages, err := filepath.Abs("testdata/kwok-stages.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return testbed.Options{Controllers: true, KwokNodes: 3, KwokArgs: []string{"--config=" + stages}}
}

type receiverProc struct {
	addr, key string
	log       string
}

const apiKey = "e2e-secret-key"

// startReceiver runs the real kubetopo-receiver binary: remote-write in,
// forwarded to the downstream Prometheus' remote-write receiver, the
// downstream's query API for rebuild and time travel, one API key for
// writes and the topology API.
func startReceiver(t *testing.T, downstreamURL string) receiverProc {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keyFile, []byte("# the e2e sender's key\n"+apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := receiverProc{addr: testenv.FreeAddr(t), key: apiKey, log: filepath.Join(dir, "receiver.log")}
	logFile, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Binary(receiverName),
		"--web.listen-address="+r.addr, "--auth.api-key-file="+keyFile,
		"--forward.url="+downstreamURL+"/api/v1/write", "--downstream.query-url="+downstreamURL,
		"--health.interval=1s", "--log.level=debug")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(35 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(r.log)
			t.Logf("receiver log (%s):\n%s", r.addr, tail(string(b), 40))
		}
	})
	testenv.Eventually(t, 30*time.Second, "receiver ready", func() (bool, string) {
		select {
		case <-exited:
			b, _ := os.ReadFile(r.log)
			t.Fatalf("receiver exited:\n%s", b)
		default:
		}
		resp, err := http.Get("http://" + r.addr + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return r
}
