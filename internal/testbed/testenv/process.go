package testenv

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ProcessOptions describe a binary to run for a test.
type ProcessOptions struct {
	Name string   // for messages and the log file name, for example "agent"
	Path string   // the binary
	Args []string // its arguments
	// StopTimeout is how long Stop waits after SIGINT before it kills the
	// process; 0 means 10s.
	StopTimeout time.Duration
}

// Process is a running binary whose stdout and stderr go to a log file.
type Process struct {
	Name    string
	LogPath string
	Cmd     *exec.Cmd

	stopTimeout time.Duration
	exited      chan struct{}
	err         error
}

// StartProcess starts the binary with its log in a test temp dir; it is
// stopped (Stop) when the test ends.
func StartProcess(t testing.TB, opts ProcessOptions) *Process {
	t.Helper()
	p := &Process{
		Name:        opts.Name,
		LogPath:     filepath.Join(t.TempDir(), opts.Name+".log"),
		Cmd:         exec.Command(opts.Path, opts.Args...),
		stopTimeout: opts.StopTimeout,
		exited:      make(chan struct{}),
	}
	if p.stopTimeout == 0 {
		p.stopTimeout = 10 * time.Second
	}
	logFile, err := os.Create(p.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	p.Cmd.Stdout, p.Cmd.Stderr = logFile, logFile
	if err := p.Cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", p.Name, err)
	}
	go func() { p.err = p.Cmd.Wait(); logFile.Close(); close(p.exited) }()
	t.Cleanup(p.Stop)
	return p
}

// Exited is closed when the process has exited; Err is then its exit error.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is the process's exit error, valid once Exited is closed.
func (p *Process) Err() error { return p.err }

// Stop interrupts the process (SIGINT), kills it after the stop timeout and
// waits for it to exit. It is idempotent.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(p.stopTimeout):
		_ = p.Cmd.Process.Kill()
		<-p.exited
	}
}

// LogTail is the last 40 lines of the process's log.
func (p *Process) LogTail() string { return LogTail(p.LogPath) }

// LogTail is the last 40 lines of the file at path.
func LogTail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// WaitReady polls baseURL+"/-/ready" until it answers 200; it fails the test
// at once with the log's tail if the process exits first, and after timeout.
func WaitReady(t testing.TB, p *Process, baseURL string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, p.Name+" ready", func() (bool, string) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited: %v\n%s", p.Name, p.err, p.LogTail())
		default:
		}
		resp, err := http.Get(baseURL + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

// Eventually polls cond every 100ms until it holds; after timeout it fails the
// test with cond's last explanation.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	Poll(t, ctx, 100*time.Millisecond, what, cond)
}

// Poll calls cond every interval until it holds; when ctx ends first it fails
// the test with cond's last explanation.
func Poll(t testing.TB, ctx context.Context, interval time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	for {
		ok, msg := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached (%v):\n%s", what, context.Cause(ctx), msg)
		case <-time.After(interval): // poll interval, not synchronisation
		}
	}
}
