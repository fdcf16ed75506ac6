package receiver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubetopo/kubetopo/remotewrite"
)

// TestProcessor feeds a remote-write request through the adapter: labels
// are views the adapter must not keep, series get their URN added.
func TestProcessor(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := newTestReceiver(t, prometheus.NewRegistry(), clk, nil)
	p := r.Processor(ProcessorOptions{Enrich: true})
	ms := clk.now().UnixMilli()
	req := &remotewrite.Request{Protocol: remotewrite.V1}
	add := func(kv ...string) {
		// One reused buffer for every label string, as the decoder's views are.
		var ls []remotewrite.Label
		for i := 0; i+1 < len(kv); i += 2 {
			ls = append(ls, remotewrite.Label{Name: strings.Clone(kv[i]), Value: strings.Clone(kv[i+1])})
		}
		req.Series = append(req.Series, remotewrite.Series{Labels: ls, Samples: []remotewrite.Sample{{Value: 1, Timestamp: ms}}})
	}
	for _, ls := range topologySeries() {
		var kv []string
		ls.Range(func(l labels.Label) { kv = append(kv, l.Name, l.Value) })
		add(kv...)
	}
	add("__name__", "kube_deployment_spec_replicas", "cluster", "c", "deployment", "web", "namespace", "shop")
	if err := p.Process(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if !req.Modified() {
		t.Error("the KSM series of a known Deployment was not enriched with its urn")
	}
	// Scribble over every label string, as the next request would.
	for i := range req.Series {
		for j := range req.Series[i].Labels {
			req.Series[i].Labels[j] = remotewrite.Label{Name: "x", Value: "y"}
		}
	}
	g := r.Graph()
	if c, rel := g.Len(); c != 5 || rel != 4 {
		var rs []string
		for _, x := range g.Relations() {
			rs = append(rs, x.Key())
		}
		t.Fatalf("%d components %d relations, want 5 4: %q", c, rel, rs)
	}
	if out := g.Out(depURN); len(out) != 1 || out[0].Target != rsURN {
		t.Errorf("Out(deployment) = %v", out)
	}
}
