//go:build integration

package bench

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

type agentProc struct {
	cmd     *exec.Cmd
	url     string
	log     string
	started time.Time
	exited  chan struct{}
}

// startAgent runs bin against the cluster without waiting for readiness; env
// is added to the environment, args to the default flags.
func startAgent(t *testing.T, bin, kubeconfig string, env []string, args ...string) *agentProc {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	logPath := filepath.Join(t.TempDir(), "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--kubeconfig=" + kubeconfig, "--web.listen-address=" + addr, "--cluster.name=bench"}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	a := &agentProc{cmd: cmd, url: "http://" + addr, log: logPath, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.started = time.Now()
	go func() { _ = cmd.Wait(); logFile.Close(); close(a.exited) }()
	t.Cleanup(a.stop)
	return a
}

// stop interrupts the agent (this process's own child, by its pid) and waits
// for it; it is idempotent.
func (a *agentProc) stop() {
	select {
	case <-a.exited:
		return
	default:
	}
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.exited:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
}

// waitReady polls /-/ready back to back and returns the wall time since the
// start and the agent's CPU seconds at the first 200.
func (a *agentProc) waitReady(t *testing.T, timeout time.Duration) (wall time.Duration, cpu float64) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := a.started.Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-a.exited:
			t.Fatalf("agent exited before it was ready:\n%s", a.logTail())
		default:
		}
		resp, err := c.Get(a.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				wall = time.Since(a.started)
				return wall, a.cpuSeconds(t)
			}
		}
		time.Sleep(10 * time.Millisecond) // poll interval of the readiness probe
	}
	t.Fatalf("agent not ready after %s:\n%s", timeout, a.logTail())
	return 0, 0
}

// waitIdle polls the agent's CPU time every 10 ms until it has not moved for
// quiet, and returns the time since the start and the CPU seconds at its last
// move. It gives up at deadline and returns what it has.
func (a *agentProc) waitIdle(t *testing.T, quiet time.Duration, deadline time.Time) (time.Duration, float64) {
	t.Helper()
	last, lastAt := a.cpuSeconds(t), time.Now()
	for time.Since(lastAt) < quiet && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // sampling interval of /proc/<pid>/stat
		if c := a.cpuSeconds(t); c != last {
			last, lastAt = c, time.Now()
		}
	}
	return lastAt.Sub(a.started), last
}

func (a *agentProc) logTail() string {
	b, _ := os.ReadFile(a.log)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// scraper fetches /metrics the way Prometheus does: one kept-alive
// connection, the body read in full into a buffer kept from the previous
// scrape (Prometheus' scrape loop reuses its buffers too; reading a 34 MB
// body with io.ReadAll would allocate and copy about twice that per scrape
// in the benchmark's own process, on the cores it shares with the agent),
// gzip asked for or not. The Go client's transparent decompression is off,
// so the timing covers what the agent sends. A scraper is used by one
// goroutine at a time.
type scraper struct {
	url    string
	client *http.Client
	// body holds the last scrape's body and unzipped its decompressed
	// text: a scrapeResult's bytes are valid until the next scrape.
	body, unzipped bytes.Buffer
	zr             *gzip.Reader
}

func newScraper(url string) *scraper {
	return &scraper{url: url + "/metrics", client: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2},
	}}
}

type scrapeResult struct {
	wire     []byte // as received (gzip when asked for); valid until the next scrape
	duration time.Duration
	end      time.Time
}

func (s *scraper) scrape(gz bool) (scrapeResult, error) {
	req, err := http.NewRequest(http.MethodGet, s.url, nil)
	if err != nil {
		return scrapeResult{}, err
	}
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return scrapeResult{}, fmt.Errorf("scrape: %w", err)
	}
	s.body.Reset()
	_, err = s.body.ReadFrom(resp.Body)
	resp.Body.Close()
	end := time.Now()
	if err != nil || resp.StatusCode != http.StatusOK {
		return scrapeResult{}, fmt.Errorf("scrape: %s %v", resp.Status, err)
	}
	if gz != (resp.Header.Get("Content-Encoding") == "gzip") {
		return scrapeResult{}, fmt.Errorf("scrape: asked gzip=%v, got Content-Encoding %q", gz, resp.Header.Get("Content-Encoding"))
	}
	return scrapeResult{wire: s.body.Bytes(), duration: end.Sub(start), end: end}, nil
}

// plain returns the exposition text of the scrape result r, valid until the
// next scrape.
func (s *scraper) plain(r scrapeResult, gz bool) ([]byte, error) {
	if !gz {
		return r.wire, nil
	}
	var err error
	if s.zr == nil {
		s.zr, err = gzip.NewReader(bytes.NewReader(r.wire))
	} else {
		err = s.zr.Reset(bytes.NewReader(r.wire))
	}
	if err != nil {
		return nil, err
	}
	s.unzipped.Reset()
	if _, err := s.unzipped.ReadFrom(s.zr); err != nil {
		return nil, err
	}
	return s.unzipped.Bytes(), nil
}

// exposition summarises a /metrics body.
type exposition struct {
	Samples    int `json:"samples"`     // every sample line
	Topology   int `json:"topology"`    // kubetopo_component_info + _labels + kubetopo_relation_info
	Components int `json:"components"`  // kubetopo_component_info
	Labels     int `json:"labels"`      // kubetopo_component_labels
	Relations  int `json:"relations"`   // kubetopo_relation_info
	Pods       int `json:"pods"`        // kubetopo_components{type="pod"}, the agent's own count
	QueueDepth int `json:"queue_depth"` // kubetopo_queue_depth
	// From the agent's own process and Go collectors.
	RSS       float64 `json:"rss_bytes"`
	HeapInuse float64 `json:"heap_inuse_bytes"`
	// kubetopo_informer_objects by resource.
	Objects map[string]int `json:"objects"`
}

func parseExposition(b []byte) exposition {
	e := exposition{Objects: map[string]int{}}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		line := b[:i]
		b = b[min(i+1, len(b)):]
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		e.Samples++
		switch {
		case bytes.HasPrefix(line, []byte("kubetopo_component_info{")):
			e.Components++
		case bytes.HasPrefix(line, []byte("kubetopo_component_labels{")):
			e.Labels++
		case bytes.HasPrefix(line, []byte("kubetopo_relation_info{")):
			e.Relations++
		case bytes.HasPrefix(line, []byte(`kubetopo_components{type="pod"}`)):
			e.Pods = int(value(line))
		case bytes.HasPrefix(line, []byte("kubetopo_queue_depth")):
			e.QueueDepth = int(value(line))
		case bytes.HasPrefix(line, []byte("process_resident_memory_bytes")):
			e.RSS = value(line)
		case bytes.HasPrefix(line, []byte("go_memstats_heap_inuse_bytes")):
			e.HeapInuse = value(line)
		case bytes.HasPrefix(line, []byte(`kubetopo_informer_objects{resource="`)):
			rest := line[len(`kubetopo_informer_objects{resource="`):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				e.Objects[string(rest[:j])] = int(value(line))
			}
		}
	}
	e.Topology = e.Components + e.Labels + e.Relations
	return e
}

func value(line []byte) float64 {
	f := bytes.Fields(line)
	v, _ := strconv.ParseFloat(string(f[len(f)-1]), 64)
	return v
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cpuSeconds is the agent's user+system CPU time so far.
func (a *agentProc) cpuSeconds(t *testing.T) float64 {
	t.Helper()
	return testenv.CPUSeconds(t, a.cmd.Process.Pid)
}

// memory returns the agent's VmRSS and VmHWM (peak RSS), in bytes.
func (a *agentProc) memory(t *testing.T) (rss, hwm int64) {
	t.Helper()
	return testenv.Memory(t, a.cmd.Process.Pid)
}
