package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a component gets between SIGTERM and SIGKILL.
const stopGrace = 15 * time.Second

// process is one component process. Processes started by this Go process have cmd and done set;
// processes adopted from pid files (a cluster started by an earlier `testbed up`) only have pid.
type process struct {
	name string
	bin  string // absolute path of the binary, argv[0]
	pid  int
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait returned
}

// paths of the per-component files.
func pidFile(stateDir, name string) string {
	return filepath.Join(stateDir, "pids", name+".pid")
}

func logFile(stateDir, name string) string {
	return filepath.Join(stateDir, "logs", name+".log")
}

// startProcess starts bin with args in its own process group, output appended to
// <stateDir>/logs/<name>.log, and records its PID in <stateDir>/pids/<name>.pid. The process is
// not tied to any context: it keeps running when the caller exits (`testbed up`).
func startProcess(stateDir, name, bin string, args, env []string) (*process, error) {
	for _, d := range []string{"logs", "pids"} {
		if err := os.MkdirAll(filepath.Join(stateDir, d), 0o755); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
	}
	logf, err := os.OpenFile(logFile(stateDir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer logf.Close() // the child holds its own copy of the descriptor
	fmt.Fprintf(logf, "==== %s starting %s %s\n", time.Now().Format(time.RFC3339), bin, strings.Join(args, " "))

	cmd := exec.Command(bin, args...)
	cmd.Dir = stateDir
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, bin: bin, pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	if err := os.WriteFile(pidFile(stateDir, name), []byte(strconv.Itoa(p.pid)+"\n"), 0o644); err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("record pid of %s: %w", name, err)
	}
	return p, nil
}

// componentEnv is the environment of a component: ours without ETCD_* (etcd reads each as a
// flag), KWOK_* (kwok reads them as configuration) and KUBECONFIG (every component gets an
// explicit one). kwok also loads ~/.kwok/kwok.yaml when it exists, so it gets its own HOME.
func componentEnv(stateDir, name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ETCD_") || strings.HasPrefix(kv, "KWOK_") || strings.HasPrefix(kv, "KUBECONFIG=") ||
			(name == "kwok" && strings.HasPrefix(kv, "HOME=")) {
			continue
		}
		env = append(env, kv)
	}
	if name == "kwok" {
		env = append(env, "HOME="+filepath.Join(stateDir, "kwok-home"))
	}
	return env
}

// alive reports whether the process still runs (a zombie counts as gone).
func (p *process) alive() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	return pidAlive(p.pid)
}

// exited returns a channel closed when the process is gone; for adopted processes it polls.
func (p *process) exited() <-chan struct{} {
	if p.done != nil {
		return p.done
	}
	ch := make(chan struct{})
	go func() {
		for pidAlive(p.pid) {
			time.Sleep(50 * time.Millisecond)
		}
		close(ch)
	}()
	return ch
}

// stop sends SIGTERM to the process group, waits up to stopGrace and then sends SIGKILL.
func (p *process) stop() error {
	if !p.alive() {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL) // leftovers of the group, if any
		return nil
	}
	if err := syscall.Kill(-p.pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s (pid %d): %w", p.name, p.pid, err)
	}
	exited := p.exited()
	select {
	case <-exited:
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		return nil
	case <-time.After(stopGrace):
	}
	if err := syscall.Kill(-p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", p.name, p.pid, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("kill %s (pid %d): still running 5s after SIGKILL", p.name, p.pid)
	}
}

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// Format: "pid (comm) S ...": the state follows the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
}

// readPidFile returns the PID recorded for name, or 0 if there is none.
func readPidFile(stateDir, name string) int {
	b, err := os.ReadFile(pidFile(stateDir, name))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// adoptProcess returns the process recorded in <stateDir>/pids/<name>.pid if it is still
// running one of the binaries in bins (its /proc/<pid>/cmdline starts with that path, and it
// leads its own process group). Anything else - no pid file, a dead pid, a pid reused by an
// unrelated process - gives nil: such a process is never signalled.
func adoptProcess(stateDir, name string, bins ...string) *process {
	pid := readPidFile(stateDir, name)
	if pid == 0 || !pidAlive(pid) {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	for _, bin := range bins {
		if bin == "" || string(argv0) != bin {
			continue
		}
		if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
			return nil
		}
		return &process{name: name, bin: bin, pid: pid}
	}
	return nil
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. All listeners are held open until
// every port is picked, so the ports differ from each other; another program may still take one
// before the component binds it, which is unlikely on a test machine.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tailFile returns the last n lines of path.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	const maxRead = 256 << 10
	st, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	off := max(st.Size()-maxRead, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("(read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
