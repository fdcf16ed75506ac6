package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNewRejectsUnknownValues(t *testing.T) {
	for _, tc := range []struct{ level, format, want string }{
		{"info", "xml", "--log.format"},
		{"loud", "logfmt", "--log.level"},
	} {
		if _, err := New(&bytes.Buffer{}, tc.level, tc.format); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q) error = %v, want one naming %s", tc.level, tc.format, err, tc.want)
		}
	}
}

func TestBridgesShareOnePathAndLevel(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "info", "logfmt")
	if err != nil {
		t.Fatal(err)
	}
	Slog(l).With("a", 1).Info("from slog", "b", 2)
	Slog(l).Debug("hidden slog debug")
	Logr(l).Info("from logr", "c", 3)
	Logr(l).V(4).Info("hidden logr debug")
	Logr(l).Error(errors.New("boom"), "logr error")
	out := buf.String()
	for _, want := range []string{`msg="from slog" a=1 b=2`, `msg="from logr" c=3`, `msg="logr error" err=boom`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i, want := range []string{"level=info", "level=info", "level=error"} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d does not start with %s:\n%s", i, want, out)
		}
	}
	if strings.Contains(out, "hidden") {
		t.Errorf("debug lines passed an info filter:\n%s", out)
	}
}
