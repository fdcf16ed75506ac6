package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Prometheus is a real Prometheus server (the testbed's Debian 2.42 build, or
// the 3.x one built from the prometheus module) started for a test, with its
// own config, storage and free port.
type Prometheus struct {
	URL  string
	dir  string
	proc *process
}

// Binaries of the two Prometheus versions hack/testbed/build.sh provides.
const (
	Prometheus2 = "prometheus"  // Debian's 2.42: sends and receives Remote-Write 1.0 only
	Prometheus3 = "prometheus3" // 3.15 from the module: sends Remote-Write 2.0
)

// StartPrometheus starts the testbed's Prometheus 2.42 from binDir with the
// given configuration file contents, keeping its data and log under dir, and
// waits until it is ready. Extra flags (e.g.
// --web.enable-remote-write-receiver) are appended.
func StartPrometheus(ctx context.Context, binDir, dir, config string, extraFlags ...string) (*Prometheus, error) {
	return StartPrometheusBinary(ctx, filepath.Join(binDir, Prometheus2), dir, config, extraFlags...)
}

// StartPrometheusBinary is StartPrometheus for a given binary, e.g.
// filepath.Join(binDir, Prometheus3).
func StartPrometheusBinary(ctx context.Context, bin, dir, config string, extraFlags ...string) (*Prometheus, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	args := append([]string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=info",
	}, extraFlags...)
	p, err := startProcess(dir, "prometheus", bin, args, componentEnv(dir, "prometheus"))
	if err != nil {
		return nil, err
	}
	prom := &Prometheus{URL: "http://" + addr, dir: dir, proc: p}
	for {
		select {
		case <-p.exited():
			return nil, fmt.Errorf("prometheus exited:\n%s", prom.LogTail(30))
		case <-ctx.Done():
			_ = prom.Stop()
			return nil, fmt.Errorf("prometheus not ready: %w\n%s", ctx.Err(), prom.LogTail(30))
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(prom.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return prom, nil
			}
		}
	}
}

// Stop stops the server; it is idempotent.
func (p *Prometheus) Stop() error { return p.proc.stop() }

// LogTail returns the last n lines of the server's log.
func (p *Prometheus) LogTail(n int) string { return tailFile(logFile(p.dir, "prometheus"), n) }

// Sample is one element of an instant vector.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant PromQL query and returns its vector.
func (p *Prometheus) Query(ctx context.Context, promql string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape(promql), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %q: %s: %w", promql, resp.Status, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", promql, body.ErrorType, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", promql, body.Data.ResultType)
	}
	out := make([]Sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", promql, r.Value[1], err)
		}
		out = append(out, Sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}
