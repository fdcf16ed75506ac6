package controlplane

import (
	"context"
	"io"
	"net/http"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubetopo/kubetopo/internal/republish"
)

// Labels added to every republished control-plane series, besides cluster
// and urn, so that the same family from two components (go_goroutines of the
// apiserver and of the scheduler) or two instances of one component without
// a pod URN stay distinct series. They are not "component" and "instance":
// apiserver_request_total has a component label of its own, and Prometheus
// renames a scraped instance label to exported_instance.
const (
	LabelComponent = "control_plane_component"
	LabelAddress   = "control_plane_address"
)

// sources lists what to scrape now: the apiserver the agent talks to,
// through the agent's own client configuration, then every component
// instance.
func (c *ControlPlane) sources(targets []Target) []republish.Source {
	out := make([]republish.Source, 0, 1+len(targets))
	out = append(out, c.source(APIServer, APIServer, c.apiAddress, c.apiURL, c.urns.Cluster(), c.apiHTTP))
	for _, t := range targets {
		out = append(out, c.source(t.Component+"/"+t.Instance, t.Component, t.Instance, t.BaseURL+"/metrics", t.URN, c.httpFor(t.BaseURL)))
	}
	return out
}

func (c *ControlPlane) source(name, component, address, u, urn string, client *http.Client) republish.Source {
	return republish.Source{
		Name: name, URL: u, Client: client, Timeout: c.opts.Timeout,
		Render: republish.RenderOptions{
			Cluster: c.opts.Cluster,
			Resolve: func(string, labels.Labels) string { return urn },
			Labels:  []labels.Label{{Name: LabelComponent, Value: component}, {Name: LabelAddress, Value: address}},
		},
	}
}

// scrapeAll scrapes every source concurrently and forgets the ones no longer
// listed. A failure is logged once when it starts or changes, and once when
// it ends: an unreachable component polled every few seconds is one line.
func (c *ControlPlane) scrapeAll(ctx context.Context, srcs []republish.Source) {
	var wg sync.WaitGroup
	keep := make(map[string]bool, len(srcs))
	for _, s := range srcs {
		keep[s.Name] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.health.noteOutcome("scrape "+s.Name, c.rep.Scrape(ctx, s))
		}()
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.scraped {
		if !keep[name] {
			c.rep.Remove(name)
			c.health.noteOutcome("scrape "+name, nil)
			delete(c.scraped, name)
		}
	}
	for name := range keep {
		c.scraped[name] = true
	}
}

// WriteMetrics writes the republished control-plane series merged, family by
// family, with g's metrics (the agent's own go_goroutines and the
// apiserver's share one family header), for the agent's /metrics after the
// topology. g may be nil.
func (c *ControlPlane) WriteMetrics(w io.Writer, g prometheus.Gatherer) error {
	var extra []republish.Block
	var gerr error
	if g != nil {
		extra, gerr = republish.GatheredBlocks(g)
	}
	pages := c.rep.Pages()
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	sort.Strings(names)
	sorted := make([]*republish.Page, len(names))
	for i, n := range names {
		sorted[i] = pages[n]
	}
	if _, err := republish.WritePages(w, sorted, extra); err != nil {
		return err
	}
	return gerr
}
