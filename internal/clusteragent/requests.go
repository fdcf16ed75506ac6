package clusteragent

import (
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/kubetopo/kubetopo/topology"
)

// InstrumentConfig makes every client built from cfg count the informers'
// requests: a list (or a watch that asks for initial events, client-go's
// streaming list) after the first one of a resource is a relist, a watch after
// the first one is a watch restart. client-go restarts watches on its own
// (timeouts, errors, an expired resource version) without telling its
// caller, so the requests themselves are what can be counted.
func InstrumentConfig(cfg *rest.Config, reg prometheus.Registerer, kinds []topology.Kind) error {
	c := &requestCounter{
		seen: map[string]bool{},
		relists: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubetopo_relists_total",
			Help: "Lists of a resource after its initial one (a watch that expired or failed makes the informer list again).",
		}, []string{"resource"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubetopo_watch_restarts_total",
			Help: "Watches of a resource opened after its first one (after a timeout, an error, an apiserver restart).",
		}, []string{"resource"}),
	}
	for _, col := range []prometheus.Collector{c.relists, c.restarts} {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	for _, k := range kinds {
		c.relists.WithLabelValues(k.Resource)
		c.restarts.WithLabelValues(k.Resource)
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			c.count(req)
			return rt.RoundTrip(req)
		})
	})
	return nil
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type requestCounter struct {
	mu                sync.Mutex
	seen              map[string]bool
	relists, restarts *prometheus.CounterVec
}

func (c *requestCounter) count(req *http.Request) {
	if req.Method != http.MethodGet {
		return
	}
	res := resourceOf(req.URL.Path)
	if res == "" {
		return
	}
	q := req.URL.Query()
	op := "watch"
	if q.Get("watch") != "true" && q.Get("watch") != "1" || q.Get("sendInitialEvents") == "true" {
		op = "list"
	}
	c.mu.Lock()
	first := !c.seen[op+"/"+res]
	c.seen[op+"/"+res] = true
	c.mu.Unlock()
	if first {
		return
	}
	if op == "list" {
		c.relists.WithLabelValues(res).Inc()
	} else {
		c.restarts.WithLabelValues(res).Inc()
	}
}

// resourceOf returns the resource of a cluster-wide collection path:
// /api/v1/pods → pods, /apis/apps/v1/deployments → deployments.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 3 && parts[0] == "api":
		return parts[2]
	case len(parts) == 4 && parts[0] == "apis":
		return parts[3]
	}
	return ""
}
