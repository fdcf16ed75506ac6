package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/kubetopo/kubetopo/exporter"
)

// Summary is the one-line summary of a topology's counts (see
// exporter.Store.Counts), types sorted by name, e.g.
//
//	topology: 97 components (cluster 1, configmap 4, …), 151 relations (belongs_to 2, …)
func Summary(components, relations map[string]int) string {
	return "topology: " + counts(components, "components") + ", " + counts(relations, "relations")
}

func counts(m map[string]int, noun string) string {
	types := make([]string, 0, len(m))
	total := 0
	for t, n := range m {
		types = append(types, t)
		total += n
	}
	sort.Strings(types)
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%s %d", t, m[t])
	}
	s := fmt.Sprintf("%d %s", total, noun)
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// BaseURL is where a browser on this machine reaches an endpoint listening
// on addr (":9847", "0.0.0.0:9847", "127.0.0.1:19900"): a wildcard or empty
// host becomes localhost. An address that is not host:port comes back as is.
func BaseURL(addr string, tls bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// PrintIntro tells where to look: the endpoints of the first listen address
// and commands to paste.
func PrintIntro(w io.Writer, listen []string, metricsPath, cluster, webConfigFile string) {
	addr := ":9847"
	if len(listen) > 0 {
		addr = listen[0]
	}
	base := BaseURL(addr, false)
	curl := "curl -s " + strings.TrimPrefix(base, "http://") + metricsPath
	fmt.Fprintf(w, "kubetopo demo: the cluster agent is watching a simulated cluster %q that keeps changing.\n", cluster)
	fmt.Fprintf(w, "  metrics:      %s%s\n", base, metricsPath)
	fmt.Fprintf(w, "  landing page: %s/\n", base)
	if webConfigFile != "" {
		fmt.Fprintf(w, "  (--web.config.file is set: use https:// and credentials if it enables TLS or basic auth)\n")
	}
	fmt.Fprintf(w, "Try:\n")
	fmt.Fprintf(w, "  %s | grep %s | head\n", curl, exporter.RelationInfo)
	fmt.Fprintf(w, "  PromQL, pods per node once Prometheus scrapes %s%s:\n", base, metricsPath)
	fmt.Fprintf(w, "    count by (target_urn) (%s{cluster=%q, type=\"scheduled_on\", source_type=\"pod\"})\n", exporter.RelationInfo, cluster)
}

// PrintSummaries prints the store's summary every interval until ctx ends.
func PrintSummaries(ctx context.Context, w io.Writer, store *exporter.Store, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fmt.Fprintln(w, Summary(store.Counts()))
		}
	}
}
