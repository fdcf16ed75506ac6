package cli

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		self    string            // /proc/self/cgroup; "" for none
		files   map[string]string // under the cgroup root
		want    int64
		wantErr string
	}{
		{name: "v2 with a limit", self: "0::/kubepods/pod1/c1\n",
			files: map[string]string{"kubepods/pod1/c1/memory.max": "268435456\n"}, want: 256 << 20},
		{name: "v2 namespaced", self: "0::/\n", files: map[string]string{"memory.max": "1073741824\n"}, want: 1 << 30},
		{name: "v2 without a limit", self: "0::/\n", files: map[string]string{"memory.max": "max\n"}},
		{name: "v1 with a limit", self: "12:cpu,cpuacct:/x\n7:memory:/kubepods/pod2\n",
			files: map[string]string{"memory/kubepods/pod2/memory.limit_in_bytes": "536870912\n"}, want: 512 << 20},
		{name: "v1 unlimited", self: "7:memory:/\n",
			files: map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}},
		{name: "hybrid: v2 has no memory controller, v1 has", self: "7:memory:/m\n0::/u\n",
			files: map[string]string{"memory/m/memory.limit_in_bytes": "104857600\n"}, want: 100 << 20},
		{name: "no cgroup file", self: ""},
		{name: "garbage", self: "0::/\n", files: map[string]string{"memory.max": "lots\n"}, wantErr: "memory.max"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cg := cgroupFS{self: filepath.Join(dir, "self-cgroup"), root: filepath.Join(dir, "sys")}
			if tc.self != "" {
				write(t, cg.self, tc.self)
			}
			for p, v := range tc.files {
				write(t, filepath.Join(cg.root, p), v)
			}
			got, err := cgroupMemoryLimit(cg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestApplyRuntime(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	dir := t.TempDir()
	cg := cgroupFS{self: filepath.Join(dir, "self-cgroup"), root: dir}
	write(t, cg.self, "0::/\n")
	write(t, filepath.Join(dir, "memory.max"), "1000000000\n")
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	flags := func(gogc int, ratio float64) runtimeFlags { return runtimeFlags{gogc: &gogc, ratio: &ratio} }

	debug.SetMemoryLimit(math.MaxInt64)
	s, err := applyRuntime(flags(50, 0.9), env(), cg)
	if err != nil || s.GOGC != 50 || s.GOGCFrom != "flag" || s.LimitFrom != "cgroup" || s.MemoryLimit != 900000000 {
		t.Fatalf("flags: %+v, %v", s, err)
	}
	if p := debug.SetGCPercent(100); p != 50 {
		t.Errorf("GC percent in effect %d, want 50", p)
	}
	if l := debug.SetMemoryLimit(-1); l != 900000000 {
		t.Errorf("memory limit in effect %d, want 900000000", l)
	}

	// The environment wins: GOGC as the runtime read it, GOMEMLIMIT untouched.
	debug.SetGCPercent(80)
	debug.SetMemoryLimit(123 << 20)
	s, err = applyRuntime(flags(50, 0.9), env("GOGC", "80", "GOMEMLIMIT", "123MiB"), cg)
	if err != nil || s.GOGC != 80 || s.GOGCFrom != "env" || s.LimitFrom != "env" || s.MemoryLimit != 123<<20 {
		t.Fatalf("env: %+v, %v", s, err)
	}

	// A ratio of 0 sets no limit.
	debug.SetMemoryLimit(math.MaxInt64)
	if s, err = applyRuntime(flags(100, 0), env(), cg); err != nil || s.LimitFrom != "none" || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("ratio 0: %+v, %v", s, err)
	}

	for _, bad := range []runtimeFlags{flags(0, 0.9), flags(-5, 0.9), flags(100, 1.5), flags(100, -0.1), flags(100, math.NaN())} {
		if s, err := applyRuntime(bad, env(), cg); err == nil || s.GOGCFrom != "" {
			t.Errorf("gogc %d ratio %g: got %+v, %v; want an error and nothing applied", *bad.gogc, *bad.ratio, s, err)
		}
	}
}

func TestParseRejectsBadRuntimeFlags(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	var stderr, usage bytes.Buffer
	a := newTestApp(&stderr, &usage)
	logged, code, _ := parse(a, []string{"--runtime.gogc=0"})
	if logged || code != ExitUsage || !strings.Contains(stderr.String(), "--runtime.gogc must be at least 1") {
		t.Errorf("logged %v, code %d, stderr %q", logged, code, stderr.String())
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
