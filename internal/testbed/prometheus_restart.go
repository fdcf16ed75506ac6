package testbed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// PID is the Prometheus process id (e.g. to read its CPU time from
// /proc/<pid>/stat).
func (p *Prometheus) PID() int { return p.proc.pid }

// Restart starts a stopped Prometheus again with the same binary, flags,
// listen address and data directory (an outage followed by recovery), and
// waits until it is ready.
func (p *Prometheus) Restart(ctx context.Context) error {
	if p.proc.cmd == nil {
		return errors.New("restart prometheus: not started by this process")
	}
	if p.proc.alive() {
		return errors.New("restart prometheus: still running, Stop it first")
	}
	np, err := startProcess(p.dir, "prometheus", p.proc.bin, p.proc.cmd.Args[1:], p.proc.cmd.Env)
	if err != nil {
		return err
	}
	p.proc = np
	for {
		select {
		case <-np.exited():
			return fmt.Errorf("prometheus exited:\n%s", p.LogTail(30))
		case <-ctx.Done():
			return fmt.Errorf("prometheus not ready after restart: %w\n%s", ctx.Err(), p.LogTail(30))
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
}
