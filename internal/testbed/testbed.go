// Package testbed runs a real Kubernetes control plane for integration and e2e tests: etcd,
// kube-apiserver and optionally kube-controller-manager, kube-scheduler and kwok fake nodes,
// from binaries built by hack/testbed/build.sh. Everything listens on free 127.0.0.1 ports;
// every process runs in its own process group with its PID recorded under the state dir, so
// stopping stops exactly those processes, also from another process (`testbed down`) or after
// a crash (the next Start).
package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Component names, in start order.
const (
	Etcd              = "etcd"
	APIServer         = "apiserver"
	ControllerManager = "controller-manager"
	Scheduler         = "scheduler"
	Kwok              = "kwok"
)

var componentOrder = []string{Etcd, APIServer, ControllerManager, Scheduler, Kwok}

// binaries maps a component to its file name in BinDir.
var binaries = map[string]string{
	Etcd:              "etcd",
	APIServer:         "kube-apiserver",
	ControllerManager: "kube-controller-manager",
	Scheduler:         "kube-scheduler",
	Kwok:              "kwok",
}

// markerFile marks a directory as a testbed state dir: only such a dir (or an empty one) is
// ever wiped.
const markerFile = ".kubetopo-testbed"

// Options configure a cluster.
type Options struct {
	BinDir      string // kube-apiserver, etcd, ... as built by hack/testbed/build.sh
	StateDir    string // PKI, kubeconfigs, etcd data, logs, pids; wiped by Start
	Controllers bool   // also run kube-controller-manager and kube-scheduler
	KwokNodes   int    // run kwok and create this many fake nodes (0 = no kwok)
	Logf        func(format string, args ...any)
	// ControllerManagerArgs are added to kube-controller-manager's flags (a later
	// flag wins), e.g. a longer --node-monitor-grace-period for benchmarks on a
	// loaded machine, where a late kwok heartbeat must not mark nodes NotReady.
	ControllerManagerArgs []string
	// KwokArgs are added to kwok's flags, e.g. --config=<file> with Stages
	// (kwok then uses those Stages instead of its defaults for the kinds
	// they name).
	KwokArgs []string
}

// state is what a later process needs to manage the cluster: <StateDir>/state.json.
type state struct {
	BinDir      string         `json:"binDir"`
	Controllers bool           `json:"controllers"`
	KwokNodes   int            `json:"kwokNodes"`
	Ports       map[string]int `json:"ports"` // component (and "etcd-peer") -> port
	// ControllerManagerArgs: Options.ControllerManagerArgs.
	ControllerManagerArgs []string `json:"controllerManagerArgs,omitempty"`
	// KwokArgs: Options.KwokArgs.
	KwokArgs []string `json:"kwokArgs,omitempty"`
}

// Cluster is a running (or stopped) test cluster.
type Cluster struct {
	StateDir      string
	BinDir        string
	CAFile        string // CA of the apiserver serving and client certificates
	AdminCertFile string // client certificate in system:masters
	AdminKeyFile  string

	st    state
	pki   pkiPaths
	logf  func(format string, args ...any)
	admin *http.Client

	mu    sync.Mutex
	procs map[string]*process
}

// Kubeconfig returns the path of the admin kubeconfig (<StateDir>/kubeconfig).
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.StateDir, "kubeconfig") }

// Server returns the apiserver URL.
func (c *Cluster) Server() string {
	return "https://127.0.0.1:" + strconv.Itoa(c.st.Ports[APIServer])
}

// Components returns the components this cluster was configured with, in start order.
func (c *Cluster) Components() []string {
	names := []string{Etcd, APIServer}
	if c.st.Controllers {
		names = append(names, ControllerManager, Scheduler)
	}
	if c.st.KwokNodes > 0 {
		names = append(names, Kwok)
	}
	return names
}

// Controllers reports whether the cluster was started with controller-manager and scheduler.
func (c *Cluster) Controllers() bool { return c.st.Controllers }

// KwokNodes returns the number of fake nodes the cluster was started with.
func (c *Cluster) KwokNodes() int { return c.st.KwokNodes }

// LogTail returns the last n lines of a component's log, for failure messages.
func (c *Cluster) LogTail(name string, n int) string {
	return tailFile(logFile(c.StateDir, name), n)
}

// Start creates a new cluster in opts.StateDir. Processes recorded there by an earlier run
// that still run one of the testbed binaries are stopped first, then the dir is wiped. ctx
// bounds the waiting only: the processes outlive it (and the caller) until Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := newCluster(opts)
	if err != nil {
		return nil, err
	}
	if err := c.checkBinaries(c.Components()); err != nil {
		return nil, err
	}
	if err := stopStale(c.StateDir, c.BinDir, c.logf); err != nil {
		return nil, err
	}
	if err := prepareStateDir(c.StateDir); err != nil {
		return nil, err
	}
	if err := c.init(); err != nil {
		return nil, err
	}
	for _, name := range c.Components() {
		if err := c.StartComponent(ctx, name); err != nil {
			_ = c.Stop()
			return nil, err
		}
	}
	if c.st.KwokNodes > 0 {
		if err := c.createKwokNodes(ctx, c.st.KwokNodes); err != nil {
			_ = c.Stop()
			return nil, err
		}
	}
	c.logf("testbed: cluster ready at %s (state %s)", c.Server(), c.StateDir)
	return c, nil
}

// Load returns the cluster recorded in stateDir by an earlier Start, possibly of another
// process. Its still-running components are adopted (Stop, StopComponent, Status work on
// them); nothing is started.
func Load(stateDir string, logf func(format string, args ...any)) (*Cluster, error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	st, err := readState(abs)
	if err != nil {
		return nil, err
	}
	c, err := newCluster(Options{BinDir: st.BinDir, StateDir: abs, Controllers: st.Controllers, KwokNodes: st.KwokNodes, Logf: logf})
	if err != nil {
		return nil, err
	}
	c.st = st
	if c.admin, err = c.adminClient(); err != nil {
		return nil, err
	}
	for _, name := range componentOrder {
		if p := adoptProcess(abs, name, c.binPath(name)); p != nil {
			c.procs[name] = p
		}
	}
	return c, nil
}

func newCluster(opts Options) (*Cluster, error) {
	if opts.BinDir == "" || opts.StateDir == "" {
		return nil, errors.New("testbed: Options.BinDir and Options.StateDir are required")
	}
	if opts.KwokNodes < 0 {
		return nil, fmt.Errorf("testbed: Options.KwokNodes %d is negative", opts.KwokNodes)
	}
	binDir, err := filepath.Abs(opts.BinDir)
	if err != nil {
		return nil, fmt.Errorf("bin dir: %w", err)
	}
	stateDir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	pki := newPKIPaths(filepath.Join(stateDir, "pki"))
	return &Cluster{
		StateDir:      stateDir,
		BinDir:        binDir,
		CAFile:        pki.caCert,
		AdminCertFile: pki.clientCert["admin"],
		AdminKeyFile:  pki.clientKey["admin"],
		st:            state{BinDir: binDir, Controllers: opts.Controllers, KwokNodes: opts.KwokNodes, ControllerManagerArgs: opts.ControllerManagerArgs, KwokArgs: opts.KwokArgs},
		pki:           pki,
		logf:          logf,
		procs:         map[string]*process{},
	}, nil
}

func (c *Cluster) binPath(name string) string { return filepath.Join(c.BinDir, binaries[name]) }

func (c *Cluster) checkBinaries(names []string) error {
	for _, name := range names {
		if st, err := os.Stat(c.binPath(name)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("testbed: %s is missing or not executable (run hack/testbed/build.sh)", c.binPath(name))
		}
	}
	return nil
}

// init picks ports, generates the PKI and kubeconfigs and records the state.
func (c *Cluster) init() error {
	keys := []string{Etcd, "etcd-peer", APIServer, ControllerManager, Scheduler, Kwok}
	ports, err := freePorts(len(keys))
	if err != nil {
		return err
	}
	c.st.Ports = map[string]int{}
	for i, k := range keys {
		c.st.Ports[k] = ports[i]
	}
	if err := generatePKI(c.pki); err != nil {
		return err
	}
	for _, id := range clientIdentities {
		path := filepath.Join(c.StateDir, id.name+".kubeconfig")
		if id.name == "admin" {
			path = c.Kubeconfig()
		}
		if err := writeKubeconfig(path, c.Server(), c.pki.caCert, c.pki.clientCert[id.name], c.pki.clientKey[id.name], id.cn); err != nil {
			return err
		}
	}
	if c.admin, err = c.adminClient(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c.st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.StateDir, "state.json"), b, 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

func readState(stateDir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(stateDir, "state.json"))
	if err != nil {
		return st, fmt.Errorf("testbed: no cluster recorded in %s: %w", stateDir, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("testbed: decode %s/state.json: %w", stateDir, err)
	}
	if st.BinDir == "" || st.Ports[APIServer] == 0 {
		return st, fmt.Errorf("testbed: %s/state.json is incomplete", stateDir)
	}
	return st, nil
}

// stopStale stops processes recorded in stateDir by an earlier run (a crash, or a cluster still
// running), but only those still running a testbed binary from binDir or from the bin dir that
// run recorded.
func stopStale(stateDir, binDir string, logf func(string, ...any)) error {
	dirs := []string{binDir}
	if st, err := readState(stateDir); err == nil && st.BinDir != binDir {
		dirs = append(dirs, st.BinDir)
	}
	var errs []error
	for i := len(componentOrder) - 1; i >= 0; i-- {
		name := componentOrder[i]
		var bins []string
		for _, d := range dirs {
			bins = append(bins, filepath.Join(d, binaries[name]))
		}
		if p := adoptProcess(stateDir, name, bins...); p != nil {
			logf("testbed: stopping %s (pid %d) left by an earlier run", name, p.pid)
			errs = append(errs, p.stop())
		}
		_ = os.Remove(pidFile(stateDir, name))
	}
	return errors.Join(errs...)
}

// prepareStateDir empties stateDir, refusing a non-empty dir that is not a testbed state dir.
func prepareStateDir(stateDir string) error {
	entries, err := os.ReadDir(stateDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("testbed: read state dir: %w", err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(stateDir, markerFile)); err != nil {
			return fmt.Errorf("testbed: state dir %s is not empty and has no %s: refusing to wipe it", stateDir, markerFile)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(stateDir, e.Name())); err != nil {
				return fmt.Errorf("testbed: wipe state dir: %w", err)
			}
		}
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return fmt.Errorf("testbed: create state dir: %w", err)
	}
	return os.WriteFile(filepath.Join(stateDir, markerFile), []byte("state dir of internal/testbed; wiped by the next Start\n"), 0o644)
}

// Stop stops every component in reverse start order (SIGTERM to its process group, SIGKILL
// after a grace period). The state dir, with the logs, is kept. Stop is idempotent.
func (c *Cluster) Stop() error {
	var errs []error
	for i := len(componentOrder) - 1; i >= 0; i-- {
		errs = append(errs, c.StopComponent(componentOrder[i]))
	}
	return errors.Join(errs...)
}

// StopComponent stops one component; stopping one that does not run is not an error.
func (c *Cluster) StopComponent(name string) error {
	if _, ok := binaries[name]; !ok {
		return fmt.Errorf("testbed: unknown component %q", name)
	}
	c.mu.Lock()
	p := c.procs[name]
	delete(c.procs, name)
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	c.logf("testbed: stopping %s (pid %d)", name, p.pid)
	err := p.stop()
	if err == nil {
		_ = os.Remove(pidFile(c.StateDir, name))
	}
	return err
}

// StartComponent starts one component with the cluster's ports, certificates and data and waits
// until it is ready: etcd /health, apiserver /readyz, controller-manager and scheduler /healthz,
// kwok /healthz.
func (c *Cluster) StartComponent(ctx context.Context, name string) error {
	args, ready, err := c.component(name)
	if err != nil {
		return err
	}
	if err := c.checkBinaries([]string{name}); err != nil {
		return err
	}
	c.mu.Lock()
	if p := c.procs[name]; p != nil && p.alive() {
		c.mu.Unlock()
		return fmt.Errorf("testbed: %s is already running (pid %d)", name, p.pid)
	}
	p, err := startProcess(c.StateDir, name, c.binPath(name), args, componentEnv(c.StateDir, name))
	if err == nil {
		c.procs[name] = p
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.logf("testbed: started %s (pid %d), waiting until it is ready", name, p.pid)
	if err := c.waitReady(ctx, p, ready); err != nil {
		_ = c.StopComponent(name)
		return err
	}
	return nil
}

// ComponentStatus is one component as seen by Status.
type ComponentStatus struct {
	Name    string
	PID     int // 0 when not running
	Running bool
	Healthy bool
	Err     string // why it is not healthy
}

// Status reports every configured component: whether its recorded process runs and whether its
// health endpoint answers.
func (c *Cluster) Status(ctx context.Context) []ComponentStatus {
	var out []ComponentStatus
	for _, name := range c.Components() {
		s := ComponentStatus{Name: name}
		c.mu.Lock()
		p := c.procs[name]
		c.mu.Unlock()
		_, ready, _ := c.component(name)
		switch {
		case p == nil || !p.alive():
			s.Err = "not running"
		default:
			s.PID, s.Running = p.pid, true
			if err := ready(ctx); err != nil {
				s.Err = err.Error()
			} else {
				s.Healthy = true
			}
		}
		out = append(out, s)
	}
	return out
}

// Healthy returns nil when every configured component runs and answers its health check.
func (c *Cluster) Healthy(ctx context.Context) error {
	var errs []error
	for _, s := range c.Status(ctx) {
		if !s.Healthy {
			errs = append(errs, fmt.Errorf("%s: %s", s.Name, s.Err))
		}
	}
	return errors.Join(errs...)
}

// EtcdURL is the client URL of the cluster's etcd (its v3 JSON gateway
// answers under /v3/), for tests that change what the apiserver cannot see.
func (c *Cluster) EtcdURL() string { return "http://127.0.0.1:" + strconv.Itoa(c.st.Ports[Etcd]) }
