// Package cli holds what the command lines of kubetopo's binaries share: the
// kingpin application with exporter-toolkit's web flags, --web.telemetry-path,
// --log.level, --log.format, --version and -h; parsing with exit code 2 on bad
// flags; the logger (also behind klog); the registry with the standard
// collectors; and the context that ends on SIGINT or SIGTERM. Each
// cmd/<binary>/main.go keeps only its own flags and wiring.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"k8s.io/klog/v2"

	"github.com/kubetopo/kubetopo/internal/logging"
)

// ExitUsage is the exit code of a binary started with bad flags.
const ExitUsage = 2

// DefaultTelemetryHelp is the help text of --web.telemetry-path unless
// Options.TelemetryHelp says otherwise.
const DefaultTelemetryHelp = "Path under which to expose metrics."

// Options configures New.
type Options struct {
	// Name of the binary: the kingpin application's name, the prefix of
	// error messages and the program in --version.
	Name string
	// Help is the application's description in --help.
	Help string
	// Listen is the default of --web.listen-address, e.g. ":9847".
	Listen string
	// TelemetryHelp replaces DefaultTelemetryHelp.
	TelemetryHelp string
	// Kubeconfig registers --kubeconfig (see App.Kubeconfig and package kube).
	Kubeconfig bool
	// Usage receives --help and --version (default kingpin's: os.Stderr).
	Usage io.Writer
	// Stderr receives flag errors and the logs (default os.Stderr).
	Stderr io.Writer
	// Terminate ends the process after --help or --version (default os.Exit).
	Terminate func(int)
	// GOGC is the default of --runtime.gogc (0: Go's default, 100).
	GOGC int
}

// App is a binary's kingpin application with the shared flags registered.
// Register the binary's own flags with App.Flag.
type App struct {
	*kingpin.Application

	// Web holds exporter-toolkit's --web.listen-address, --web.systemd-socket
	// and --web.config.file.
	Web *web.FlagConfig
	// MetricsPath is --web.telemetry-path.
	MetricsPath *string
	// Kubeconfig is --kubeconfig; nil unless Options.Kubeconfig.
	Kubeconfig *string

	name                string
	stderr              io.Writer
	logLevel, logFormat *string
	runtime             runtimeFlags
	getenv              func(string) string
	cgroups             cgroupFS
}

// New creates the application and registers, in this order, the web flags,
// --web.telemetry-path and (with Options.Kubeconfig) --kubeconfig.
func New(o Options) *App {
	a := &App{Application: kingpin.New(o.Name, o.Help), name: o.Name, stderr: o.Stderr, getenv: os.Getenv, cgroups: hostCgroups}
	if a.stderr == nil {
		a.stderr = os.Stderr
	}
	if o.Usage != nil {
		a.UsageWriter(o.Usage)
	}
	if o.Terminate != nil {
		a.Terminate(o.Terminate)
	}
	help := o.TelemetryHelp
	if help == "" {
		help = DefaultTelemetryHelp
	}
	a.Web = kingpinflag.AddFlags(a.Application, o.Listen)
	a.MetricsPath = a.Flag("web.telemetry-path", help).Default("/metrics").String()
	if o.Kubeconfig {
		a.Kubeconfig = a.Flag("kubeconfig", "Path to a kubeconfig file. Empty: in-cluster config, else $KUBECONFIG or ~/.kube/config.").Default("").String()
	}
	a.addRuntimeFlags(o.GOGC)
	return a
}

// AddLogFlags registers --log.level and --log.format where the binary wants
// them in --help. Parse registers them last if the binary has not.
func (a *App) AddLogFlags() {
	if a.logLevel != nil {
		return
	}
	a.logLevel = a.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").Enum(logging.Levels...)
	a.logFormat = a.Flag("log.format", "Output format of log messages: logfmt, json.").Default("logfmt").Enum(logging.Formats...)
}

// Parse registers --version and -h, parses args, builds the logger, which
// also receives klog's output, and applies --runtime.gogc and
// --runtime.gomemlimit-ratio. On bad flags it writes "<name>: <reason>" to
// Stderr and returns a nil logger and ExitUsage; otherwise the code is 0.
func (a *App) Parse(args []string) (log.Logger, int) {
	a.AddLogFlags()
	a.Version(version.Print(a.name))
	a.HelpFlag.Short('h')
	if _, err := a.Application.Parse(args); err != nil {
		a.Fail(err.Error())
		return nil, ExitUsage
	}
	logger, err := logging.New(a.stderr, *a.logLevel, *a.logFormat)
	if err != nil {
		a.Fail(err.Error())
		return nil, ExitUsage
	}
	klog.SetLogger(logging.Logr(logger))
	rs, err := applyRuntime(a.runtime, a.getenv, a.cgroups)
	if rs.GOGCFrom == "" { // a bad flag value: nothing was applied
		a.Fail(err.Error())
		return nil, ExitUsage
	}
	logRuntime(logger, rs, err)
	return logger, 0
}

// Fail writes "<name>: <msg>" to Stderr and returns ExitUsage: for flag
// checks a binary makes before it has a logger.
func (a *App) Fail(msg string) int {
	fmt.Fprintf(a.stderr, "%s: %s\n", a.name, msg)
	return ExitUsage
}

// UserAgent is "<name>/<version>", the User-Agent of a binary's clients.
func (a *App) UserAgent() string { return a.name + "/" + version.Version }

// Registry returns a registry with the build-info collector of program
// (e.g. "kubetopo": kubetopo_build_info), the Go and the process collectors.
func Registry(program string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector(program), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// SignalContext is ctx ended by SIGINT or SIGTERM; call stop when done.
func SignalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}
