package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// runtimeFlags are the Go runtime's memory settings every binary takes:
// a GC target percentage of its own choosing (Options.GOGC) and, as
// Prometheus' --auto-gomemlimit does, a soft memory limit derived from the
// container's cgroup memory limit. The GOGC and GOMEMLIMIT environment
// variables, when set, win over both.
type runtimeFlags struct {
	gogc  *int
	ratio *float64
}

func (a *App) addRuntimeFlags(gogc int) {
	if gogc <= 0 {
		gogc = 100
	}
	a.runtime.gogc = a.Flag("runtime.gogc", "Go garbage collector target percentage (GOGC): the heap may grow this much over the live data before a collection. Lower uses less memory and more CPU. The GOGC environment variable, when set, wins.").Default(strconv.Itoa(gogc)).Int()
	a.runtime.ratio = a.Flag("runtime.gomemlimit-ratio", "Set Go's soft memory limit (GOMEMLIMIT) to this fraction of the container's cgroup memory limit, so the collector works harder before the container is OOM-killed; 0 turns it off. Nothing happens without a cgroup limit; the GOMEMLIMIT environment variable, when set, wins.").Default("0.9").Float64()
}

// RuntimeSettings are what applyRuntime chose, for the log.
type RuntimeSettings struct {
	GOGC        int    // the GC percentage in effect; -1 when GOGC=off
	GOGCFrom    string // "flag" or "env"
	MemoryLimit int64  // bytes; math.MaxInt64 when none
	LimitFrom   string // "cgroup", "env" or "none"
}

// cgroupFS names where to find the process's cgroups and their files.
type cgroupFS struct {
	self string // the process's cgroup membership: /proc/self/cgroup
	root string // where the cgroup file systems are mounted: /sys/fs/cgroup
}

var hostCgroups = cgroupFS{self: "/proc/self/cgroup", root: "/sys/fs/cgroup"}

// applyRuntime sets the GC percentage and the soft memory limit.
func applyRuntime(f runtimeFlags, getenv func(string) string, cg cgroupFS) (RuntimeSettings, error) {
	var s RuntimeSettings
	if *f.gogc < 1 {
		return s, fmt.Errorf("--runtime.gogc must be at least 1, got %d", *f.gogc)
	}
	if r := *f.ratio; r < 0 || r > 1 || math.IsNaN(r) {
		return s, fmt.Errorf("--runtime.gomemlimit-ratio must be between 0 and 1, got %g", r)
	}
	if getenv("GOGC") != "" {
		// The runtime read it at start; SetGCPercent returns it unchanged.
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		s.GOGC, s.GOGCFrom = p, "env"
	} else {
		debug.SetGCPercent(*f.gogc)
		s.GOGC, s.GOGCFrom = *f.gogc, "flag"
	}
	s.MemoryLimit, s.LimitFrom = debug.SetMemoryLimit(-1), "none"
	if getenv("GOMEMLIMIT") != "" {
		s.LimitFrom = "env"
		return s, nil
	}
	if *f.ratio == 0 {
		return s, nil
	}
	limit, err := cgroupMemoryLimit(cg)
	if err != nil || limit <= 0 {
		return s, err
	}
	s.MemoryLimit, s.LimitFrom = int64(float64(limit)**f.ratio), "cgroup"
	debug.SetMemoryLimit(s.MemoryLimit)
	return s, nil
}

func logRuntime(logger log.Logger, s RuntimeSettings, err error) {
	if err != nil {
		level.Warn(logger).Log("msg", "cannot read the cgroup memory limit, GOMEMLIMIT not set", "err", err)
	}
	kv := []any{"msg", "Go runtime memory settings", "gogc", s.GOGC, "gogc_from", s.GOGCFrom, "memory_limit_from", s.LimitFrom}
	if s.LimitFrom == "none" {
		level.Debug(logger).Log(kv...)
		return
	}
	kv = append(kv, "memory_limit_bytes", s.MemoryLimit)
	level.Info(logger).Log(kv...)
}

// cgroupMemoryLimit returns the memory limit of this process's cgroup (v2:
// memory.max, v1: memory.limit_in_bytes), 0 when there is none. A limit of
// v1's "unlimited" (a huge number) counts as none.
func cgroupMemoryLimit(cg cgroupFS) (int64, error) {
	v2, v1, err := ownCgroups(cg.self)
	if err != nil {
		return 0, err
	}
	var paths []string
	if v2 != "" {
		paths = append(paths, filepath.Join(cg.root, v2, "memory.max"))
	}
	if v1 != "" {
		paths = append(paths, filepath.Join(cg.root, "memory", v1, "memory.limit_in_bytes"))
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // e.g. a hybrid host: memory is on v1
		}
		if err != nil {
			return 0, err
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		if n >= 1<<62 { // cgroup v1's "no limit"
			return 0, nil
		}
		return n, nil
	}
	return 0, nil
}

// ownCgroups reads the process's cgroup membership: the unified (v2) path
// and the v1 memory controller's path. Inside a container's cgroup namespace
// both are usually "/".
func ownCgroups(self string) (v2, v1 string, err error) {
	f, err := os.Open(self)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case hasController(parts[1], "memory"):
			v1 = parts[2]
		}
	}
	return v2, v1, sc.Err()
}

func hasController(list, c string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == c {
			return true
		}
	}
	return false
}
