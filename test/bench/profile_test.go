//go:build integration

package bench

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

// profileSummary names the profiles written for the largest size and their
// top entries (`go tool pprof -top`).
type profileSummary struct {
	Dir   string              `json:"dir"`
	Files map[string]string   `json:"files"` // what → file name in Dir
	Top   map[string][]string `json:"top"`   // what → top lines
}

// profile runs the profiling build of the agent (net/http/pprof through a
// build overlay, see main_test.go) on the cluster as it is: a CPU profile of
// the sync, the heap after sync, and CPU profiles of back-to-back plain and
// gzip scrapes.
func profile(t *testing.T, cl *testbed.Cluster, cfg config, r Result) *profileSummary {
	t.Helper()
	if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pprofAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	a := startAgent(t, profiledBin, cl.Kubeconfig(), []string{"KUBETOPO_BENCH_PPROF_ADDR=" + pprofAddr})
	defer a.stop()
	base := "http://" + pprofAddr + "/debug/pprof/"
	ps := &profileSummary{Dir: cfg.profileDir, Files: map[string]string{}, Top: map[string][]string{}}

	// The listener comes up in init, before main: the sync profile starts
	// within milliseconds of the process.
	syncSecs := int(math.Ceil(r.SyncWallSec)) + 2
	syncDone := make(chan error, 1)
	go func() {
		for deadline := time.Now().Add(10 * time.Second); ; {
			err := fetch(base+"profile?seconds="+strconv.Itoa(syncSecs), filepath.Join(cfg.profileDir, "sync.cpu.pprof"))
			if err == nil || time.Now().After(deadline) {
				syncDone <- err
				return
			}
			time.Sleep(5 * time.Millisecond) // the listener is not up yet
		}
	}()
	a.waitReady(t, 5*time.Minute)
	if err := <-syncDone; err != nil {
		t.Fatalf("sync CPU profile: %v", err)
	}
	ps.Files["sync CPU"] = "sync.cpu.pprof"

	s := newScraper(a.url)
	for _, mode := range []struct {
		name string
		gz   bool
		secs int
	}{{"plain scrapes CPU", false, 10}, {"gzip scrapes CPU", true, 15}} {
		file := "scrape-plain.cpu.pprof"
		if mode.gz {
			file = "scrape-gzip.cpu.pprof"
		}
		done := make(chan error, 1)
		go func() {
			done <- fetch(base+"profile?seconds="+strconv.Itoa(mode.secs), filepath.Join(cfg.profileDir, file))
		}()
		n := 0
		for end := time.Now().Add(time.Duration(mode.secs) * time.Second); time.Now().Before(end); n++ {
			if _, err := s.scrape(mode.gz); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("%s profile: %v", mode.name, err)
		}
		t.Logf("profile %s: %d scrapes in %ds", mode.name, n, mode.secs)
		ps.Files[mode.name] = file
	}
	if err := fetch(base+"heap?gc=1", filepath.Join(cfg.profileDir, "heap.pprof")); err != nil {
		t.Fatalf("heap profile: %v", err)
	}
	ps.Files["heap in use"], ps.Files["allocations since start"] = "heap.pprof", "heap.pprof"

	for _, what := range []string{"sync CPU", "plain scrapes CPU", "gzip scrapes CPU"} {
		ps.Files[what+", cumulative"] = ps.Files[what]
	}
	for what, file := range ps.Files {
		args := []string{"tool", "pprof", "-top", "-nodecount=12"}
		switch {
		case what == "heap in use":
			args = append(args, "-sample_index=inuse_space")
		case what == "allocations since start":
			args = append(args, "-sample_index=alloc_space")
		case strings.HasSuffix(what, ", cumulative"):
			args = append(args, "-cum")
		}
		out, err := exec.Command("go", append(args, profiledBin, filepath.Join(cfg.profileDir, file))...).CombinedOutput()
		if err != nil {
			t.Fatalf("go tool pprof %s: %v\n%s", file, err, out)
		}
		ps.Top[what] = strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Logf("profile %s:\n%s", what, out)
	}
	return ps
}

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
