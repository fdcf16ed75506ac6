package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB whose Fatalf records the failure and ends the
// goroutine, as testing.T does, without failing the real test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runRecorded calls f with a recorder in its own goroutine and returns the failure.
func runRecorded(t *testing.T, f func(tb testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
	return r.failed
}

func TestPoll(t *testing.T) {
	tests := []struct {
		name     string
		okAfter  int // calls until cond holds; 0: never
		wantFail string
	}{
		{"holds at once", 1, ""},
		{"holds on the third call", 3, ""},
		{"never holds", 0, "the thing: not reached (context deadline exceeded):\nstill 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			got := runRecorded(t, func(tb testing.TB) {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				Poll(tb, ctx, 10*time.Millisecond, "the thing", func() (bool, string) {
					calls++
					return tt.okAfter != 0 && calls >= tt.okAfter, "still 7"
				})
			})
			if got != tt.wantFail {
				t.Errorf("failure %q, want %q", got, tt.wantFail)
			}
			if tt.okAfter != 0 && calls != tt.okAfter {
				t.Errorf("cond called %d times, want %d", calls, tt.okAfter)
			}
		})
	}
}

func TestFreeAddrIsListenable(t *testing.T) {
	addr := FreeAddr(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("FreeAddr = %q, want loopback", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on the free address: %v", err)
	}
	l.Close()
	if p := FreePort(t); p <= 0 {
		t.Fatalf("FreePort = %d", p)
	}
}

func TestLogTail(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(LogTail(path), "\n")
	if len(got) != 40 || got[0] != "line 12" || got[38] != "line 50" || got[39] != "" {
		t.Fatalf("tail has %d lines, first %q", len(got), got[0])
	}
}

func TestProcessStopAndExit(t *testing.T) {
	p := StartProcess(t, ProcessOptions{Name: "sleeper", Path: "/bin/sh", Args: []string{"-c", "echo started; exec sleep 60"}, StopTimeout: 5 * time.Second})
	Eventually(t, 10*time.Second, "the log line", func() (bool, string) {
		tail := p.LogTail()
		return strings.Contains(tail, "started"), tail
	})
	p.Stop()
	select {
	case <-p.Exited():
	default:
		t.Fatal("Stop returned before the process exited")
	}
	if p.Err() == nil {
		t.Fatal("an interrupted sleep exited without an error")
	}
	p.Stop() // idempotent

	failed := runRecorded(t, func(tb testing.TB) {
		q := StartProcess(tb, ProcessOptions{Name: "quitter", Path: "/bin/sh", Args: []string{"-c", "echo bye; exit 3"}})
		WaitReady(tb, q, "http://"+FreeAddr(t), 10*time.Second)
	})
	if !strings.HasPrefix(failed, "quitter exited: exit status 3\n") || !strings.Contains(failed, "bye") {
		t.Fatalf("WaitReady on an exiting process failed with %q", failed)
	}
}

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.Error(w, "no such page", http.StatusNotFound)
			return
		}
		fmt.Fprintln(w, "up 1")
	}))
	defer srv.Close()
	if got := Scrape(t, srv.URL); got != "up 1\n" {
		t.Fatalf("Scrape = %q", got)
	}
	failed := runRecorded(t, func(tb testing.TB) { Scrape(tb, srv.URL+"/nowhere") })
	if !strings.Contains(failed, "404 Not Found") {
		t.Fatalf("scraping a 404 failed with %q", failed)
	}
}

func TestProcStat(t *testing.T) {
	pid := os.Getpid()
	// Burn a little CPU so the counter is past zero.
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i
	}
	if CPUSeconds(t, pid) <= 0 {
		t.Errorf("CPUSeconds of this busy test process is %v (x=%d)", CPUSeconds(t, pid), x)
	}
	rss, hwm := Memory(t, pid)
	if rss <= 0 || hwm < rss {
		t.Errorf("Memory: rss %d, hwm %d", rss, hwm)
	}
	if f := strings.Fields(LoadAvg()); len(f) != 3 {
		t.Errorf("LoadAvg = %q", LoadAvg())
	}
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, v := range n {
			d = append(d, time.Duration(v)*time.Millisecond)
		}
		return d
	}
	for _, tc := range []struct {
		d    []time.Duration
		q    float64
		want float64
	}{
		{nil, 0.5, 0},
		{ms(3, 1, 2), 0.5, 2},
		{ms(3, 1, 2), 1, 3},
		{ms(5, 1, 4, 2, 3, 6, 7, 8, 9, 10), 0.99, 10},
		{ms(5, 1, 4, 2, 3, 6, 7, 8, 9, 10), 0.5, 5},
		{ms(7), 0, 7},
	} {
		if got := QuantileMs(tc.d, tc.q); got != tc.want {
			t.Errorf("QuantileMs(%v, %v) = %v, want %v", tc.d, tc.q, got, tc.want)
		}
	}
}
