// Package testenv is the support code shared by the integration test packages
// under test/: a TestMain that finds the testbed's binaries
// (KUBETOPO_TESTBED_BIN) and builds the kubetopo binaries once per run, a
// real test cluster per test, a clientset for it, free loopback ports,
// kubetopo binaries run as processes with their log in a file, and polling
// with a deadline. Each test package keeps its own flags, binaries and
// assertions; only the plumbing lives here.
package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

// EnvBinDir names the environment variable holding the testbed's bin dir.
const EnvBinDir = "KUBETOPO_TESTBED_BIN"

// env is set once by Main, before any test runs, and only read afterwards.
var env struct {
	binDir   string // the testbed's binaries
	buildDir string // the kubetopo binaries built for this run
	built    map[string]bool
}

// Main is a package's TestMain: it fails clearly if KUBETOPO_TESTBED_BIN is
// unset, builds the named binaries (directories under cmd/, for example
// "kubetopo-cluster-agent") into a temporary directory, runs the tests,
// removes the directory and exits with the tests' code.
func Main(m *testing.M, binaries ...string) {
	os.Exit(run(m, binaries))
}

func run(m *testing.M, binaries []string) int {
	env.binDir = os.Getenv(EnvBinDir)
	if env.binDir == "" {
		fmt.Fprintln(os.Stderr, EnvBinDir+" is not set: run `make integration`, which builds the testbed binaries (hack/testbed/build.sh) and sets it")
		return 1
	}
	if len(binaries) > 0 {
		dir, err := os.MkdirTemp("", "kubetopo-testenv-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, "creating the build directory:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		env.buildDir = dir
		env.built = map[string]bool{}
		for _, name := range binaries {
			if err := build(dir, name); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			env.built[name] = true
		}
	}
	return m.Run()
}

func build(dir, name string) error {
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "github.com/kubetopo/kubetopo/cmd/"+name)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w", name, err)
	}
	return nil
}

// BinDir is the testbed's bin dir (etcd, kube-apiserver, prometheus, ...).
func BinDir() string { return env.binDir }

// Binary is the path of a kubetopo binary that Main built. It panics for a
// binary Main was not asked to build: that is a mistake in the test package.
func Binary(name string) string {
	if !env.built[name] {
		panic(fmt.Sprintf("testenv: %s was not built; pass it to testenv.Main", name))
	}
	return filepath.Join(env.buildDir, name)
}

// StartCluster starts a real test cluster from the testbed's binaries, with
// a 3-minute start deadline, its state in a test temp dir unless opts names
// one, and its log in the test log; it stops when the test ends.
func StartCluster(t testing.TB, opts testbed.Options) *testbed.Cluster {
	t.Helper()
	opts.BinDir = env.binDir
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	opts.Logf = t.Logf
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := testbed.Start(ctx, opts)
	if err != nil {
		t.Fatalf("starting the test cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the test cluster: %v", err)
		}
	})
	return c
}

// RESTConfig is a client config for c (QPS 100, burst 200, so setup is not
// throttled).
func RESTConfig(t testing.TB, c *testbed.Cluster) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg
}

// Client is a clientset for c, from RESTConfig.
func Client(t testing.TB, c *testbed.Cluster) kubernetes.Interface {
	t.Helper()
	return kubernetes.NewForConfigOrDie(RESTConfig(t, c))
}

// FreeAddr is a free loopback address, "127.0.0.1:port".
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// FreePort is a free loopback port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Query runs a PromQL instant query on p with a 30-second deadline; an error
// fails the test.
func Query(t testing.TB, p *testbed.Prometheus, q string) []testbed.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := p.Query(ctx, q)
	if err != nil {
		t.Fatalf("PromQL %s: %v", q, err)
	}
	return s
}

// Scrape returns baseURL's /metrics page; an error or a status other than 200
// fails the test.
func Scrape(t testing.TB, baseURL string) string {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		t.Fatalf("scraping %s: %v", baseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scraping %s: %s %v", baseURL, resp.Status, err)
	}
	return string(b)
}
