// Package logging builds the go-kit logger every kubetopo binary uses, from
// --log.level and --log.format, and bridges the libraries that want another
// logging API (slog for exporter-toolkit, logr/klog for client-go) onto it, so
// there is one logging path.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-logr/logr"
)

// Levels and Formats are the accepted flag values.
var (
	Levels  = []string{"debug", "info", "warn", "error"}
	Formats = []string{"logfmt", "json"}
)

// New returns a logger writing to w, with a timestamp on every line.
func New(w io.Writer, lvl, format string) (log.Logger, error) {
	var l log.Logger
	switch format {
	case "logfmt":
		l = log.NewLogfmtLogger(log.NewSyncWriter(w))
	case "json":
		l = log.NewJSONLogger(log.NewSyncWriter(w))
	default:
		return nil, fmt.Errorf("--log.format: unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
	var opt level.Option
	switch lvl {
	case "debug":
		opt = level.AllowDebug()
	case "info":
		opt = level.AllowInfo()
	case "warn":
		opt = level.AllowWarn()
	case "error":
		opt = level.AllowError()
	default:
		return nil, fmt.Errorf("--log.level: unknown level %q (want one of %s)", lvl, strings.Join(Levels, ", "))
	}
	l = level.NewFilter(l, opt)
	return log.With(l, "ts", log.DefaultTimestampUTC), nil
}

// Slog returns an *slog.Logger that logs through l.
func Slog(l log.Logger) *slog.Logger {
	return slog.New(&slogHandler{l: l})
}

type slogHandler struct {
	l     log.Logger
	attrs []any
	group string
}

func (h *slogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	kv := make([]any, 0, 2+len(h.attrs)+2*r.NumAttrs())
	kv = append(kv, "msg", r.Message)
	kv = append(kv, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		kv = append(kv, h.key(a.Key), a.Value.Any())
		return true
	})
	return leveled(h.l, r.Level).Log(kv...)
}

func (h *slogHandler) key(k string) string {
	if h.group == "" {
		return k
	}
	return h.group + "." + k
}

func (h *slogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]any{}, h.attrs...), nil)[:len(h.attrs)]
	for _, a := range as {
		n.attrs = append(n.attrs, h.key(a.Key), a.Value.Any())
	}
	return &n
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.group = h.key(name)
	return &n
}

func leveled(l log.Logger, lv slog.Level) log.Logger {
	switch {
	case lv >= slog.LevelError:
		return level.Error(l)
	case lv >= slog.LevelWarn:
		return level.Warn(l)
	case lv >= slog.LevelInfo:
		return level.Info(l)
	}
	return level.Debug(l)
}

// Logr returns a logr.Logger that logs through l, for klog (client-go).
// klog's verbosity 0 is info; anything more verbose is debug.
func Logr(l log.Logger) logr.Logger {
	return logr.New(&logrSink{l: log.With(l, "component", "client-go")})
}

type logrSink struct {
	l    log.Logger
	name string
	kv   []any
}

func (s *logrSink) Init(logr.RuntimeInfo) {}
func (s *logrSink) Enabled(lvl int) bool  { return true }
func (s *logrSink) WithName(n string) logr.LogSink {
	c := *s
	if c.name != "" {
		n = c.name + "/" + n
	}
	c.name = n
	return &c
}

func (s *logrSink) WithValues(kv ...any) logr.LogSink {
	c := *s
	c.kv = append(append([]any{}, s.kv...), kv...)
	return &c
}

func (s *logrSink) log(l log.Logger, msg string, kv []any) {
	out := append([]any{"msg", msg}, s.kv...)
	if s.name != "" {
		out = append(out, "logger", s.name)
	}
	_ = l.Log(append(out, kv...)...)
}

func (s *logrSink) Info(lvl int, msg string, kv ...any) {
	if lvl > 0 {
		s.log(level.Debug(s.l), msg, kv)
		return
	}
	s.log(level.Info(s.l), msg, kv)
}

func (s *logrSink) Error(err error, msg string, kv ...any) {
	s.log(level.Error(s.l), msg, append(kv, "err", err))
}
