package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// terminated is what the test's Terminate panics with, so that --help and
// --version stop the parse like os.Exit would.
type terminated int

func newTestApp(stderr, usage *bytes.Buffer) *App {
	return New(Options{
		Name: "kubetopo-test", Help: "A test binary.", Listen: ":9999", Kubeconfig: true,
		Usage: usage, Stderr: stderr, Terminate: func(code int) { panic(terminated(code)) },
	})
}

// parse runs Parse and reports the exit code of --help and --version too.
func parse(a *App, args []string) (logged bool, code int, exited bool) {
	defer func() {
		if r := recover(); r != nil {
			t, ok := r.(terminated)
			if !ok {
				panic(r)
			}
			code, exited = int(t), true
		}
	}()
	logger, code := a.Parse(args)
	return logger != nil, code, false
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantLogger bool
		wantCode   int
		wantExited bool
		wantStderr string
		wantUsage  string
	}{
		{name: "defaults", args: nil, wantLogger: true},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2,
			wantStderr: "kubetopo-test: unknown long flag '--bogus'\n"},
		{name: "bad log level", args: []string{"--log.level=loud"}, wantCode: 2,
			wantStderr: "kubetopo-test: enum value must be one of debug,info,warn,error, got 'loud'\n"},
		{name: "bad log format", args: []string{"--log.format=xml"}, wantCode: 2,
			wantStderr: "kubetopo-test: enum value must be one of logfmt,json, got 'xml'\n"},
		{name: "version", args: []string{"--version"}, wantExited: true, wantUsage: "kubetopo-test, version"},
		{name: "help short", args: []string{"-h"}, wantExited: true, wantUsage: "--web.telemetry-path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr, usage bytes.Buffer
			logged, code, exited := parse(newTestApp(&stderr, &usage), tc.args)
			if logged != tc.wantLogger || code != tc.wantCode || exited != tc.wantExited {
				t.Fatalf("logger %v, code %d, exited %v; want %v, %d, %v (stderr %q)",
					logged, code, exited, tc.wantLogger, tc.wantCode, tc.wantExited, stderr.String())
			}
			if stderr.String() != tc.wantStderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.wantStderr)
			}
			if !strings.Contains(usage.String(), tc.wantUsage) {
				t.Errorf("usage output %q lacks %q", usage.String(), tc.wantUsage)
			}
		})
	}
}

func TestSharedFlags(t *testing.T) {
	var stderr, usage bytes.Buffer
	a := newTestApp(&stderr, &usage)
	if _, code := a.Parse([]string{"--web.listen-address=127.0.0.1:1", "--web.telemetry-path=/m", "--kubeconfig=/k"}); code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
	if got := *a.Web.WebListenAddresses; len(got) != 1 || got[0] != "127.0.0.1:1" {
		t.Errorf("listen addresses %q", got)
	}
	if *a.MetricsPath != "/m" || *a.Kubeconfig != "/k" {
		t.Errorf("telemetry path %q, kubeconfig %q", *a.MetricsPath, *a.Kubeconfig)
	}
	b := New(Options{Name: "x", Listen: ":1", TelemetryHelp: "Own help."})
	if b.Kubeconfig != nil || b.GetFlag("kubeconfig") != nil {
		t.Error("--kubeconfig registered without Options.Kubeconfig")
	}
	if _, code := b.Parse(nil); code != 0 {
		t.Fatalf("code %d", code)
	}
	if got := *b.Web.WebListenAddresses; len(got) != 1 || got[0] != ":1" {
		t.Errorf("default listen addresses %q, want [:1]", got)
	}
	if got := b.GetFlag("web.telemetry-path").Model().Help; got != "Own help." {
		t.Errorf("telemetry path help %q", got)
	}
}

func TestLogLevelAndFormat(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantInfo bool
		wantJSON bool
	}{
		{name: "default info logfmt", wantInfo: true},
		{name: "warn hides info", args: []string{"--log.level=warn"}},
		{name: "json", args: []string{"--log.format=json"}, wantInfo: true, wantJSON: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr, usage bytes.Buffer
			logger, code := newTestApp(&stderr, &usage).Parse(tc.args)
			if code != 0 {
				t.Fatalf("code %d, stderr %q", code, stderr.String())
			}
			level.Info(logger).Log("msg", "the info line")
			level.Warn(logger).Log("msg", "the warn line")
			out := stderr.String()
			if got := strings.Contains(out, "the info line"); got != tc.wantInfo {
				t.Errorf("info logged %v, want %v:\n%s", got, tc.wantInfo, out)
			}
			if !strings.Contains(out, "the warn line") {
				t.Errorf("warn line missing:\n%s", out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var obj map[string]any
			isJSON := json.Unmarshal([]byte(lines[len(lines)-1]), &obj) == nil
			if isJSON != tc.wantJSON {
				t.Errorf("JSON %v, want %v: %q", isJSON, tc.wantJSON, lines[len(lines)-1])
			}
			if !tc.wantJSON && (!strings.Contains(out, `msg="the warn line"`) || !strings.HasPrefix(lines[len(lines)-1], "level=warn ")) {
				t.Errorf("not logfmt: %q", out)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	reg := Registry("kubetopo_test")
	n, err := testutil.GatherAndCount(reg, "kubetopo_test_build_info", "go_goroutines")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("build info and go collector series: %d, want 2", n)
	}
}

func TestFail(t *testing.T) {
	var stderr, usage bytes.Buffer
	if code := newTestApp(&stderr, &usage).Fail("--x must be positive"); code != ExitUsage {
		t.Errorf("code %d", code)
	}
	if got, want := stderr.String(), "kubetopo-test: --x must be positive\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}
