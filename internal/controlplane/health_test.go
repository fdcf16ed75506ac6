package controlplane

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
)

// gather renders what c collects in the text format, and lints it.
func gather(t *testing.T, c prometheus.Collector, names ...string) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
	}
	var b strings.Builder
	for _, mf := range mfs {
		if keep[mf.GetName()] {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b.String()
}

func TestHealthCollector(t *testing.T) {
	h := newHealth("prod", "urn:cluster:/kubernetes:prod", nil, nil, nil, time.Second, log.NewNopLogger())
	h.endpoints[endpointReadyz] = endpointState{healthy: false, checks: []Check{{"ping", true}, {"etcd", false}, {"etcd", false}}}
	h.endpoints[endpointLivez] = endpointState{healthy: false} // did not answer: no checks
	h.statuses = []componentStatusState{{"etcd-0", true}, {"scheduler", false}}
	h.components[componentHealthKey{Scheduler, "10.0.0.1:10259", "urn:kubernetes:/prod:kube-system:pod/kube-scheduler-cp-1"}] = true
	h.probes[endpointReadyz] = probeResult{success: true, duration: 20 * time.Millisecond}
	h.probes[endpointLivez] = probeResult{success: false, duration: time.Second}

	want := `
# HELP kubetopo_apiserver_health_check State of one named check of the kube-apiserver's /readyz or /livez at the last poll that got an answer: 1 passing, 0 failing.
# TYPE kubetopo_apiserver_health_check gauge
kubetopo_apiserver_health_check{check="etcd",cluster="prod",endpoint="readyz",urn="urn:cluster:/kubernetes:prod"} 0
kubetopo_apiserver_health_check{check="ping",cluster="prod",endpoint="readyz",urn="urn:cluster:/kubernetes:prod"} 1
# HELP kubetopo_apiserver_healthy Whether the kube-apiserver's /readyz or /livez answered 200 at the last poll (1) or not (0, also when it did not answer).
# TYPE kubetopo_apiserver_healthy gauge
kubetopo_apiserver_healthy{cluster="prod",endpoint="livez",urn="urn:cluster:/kubernetes:prod"} 0
kubetopo_apiserver_healthy{cluster="prod",endpoint="readyz",urn="urn:cluster:/kubernetes:prod"} 0
# HELP kubetopo_componentstatus_healthy Whether a componentstatus (deprecated API, probed by the apiserver itself) has condition Healthy=True (1) or not (0). Absent when the apiserver does not serve componentstatuses.
# TYPE kubetopo_componentstatus_healthy gauge
kubetopo_componentstatus_healthy{cluster="prod",name="etcd-0",urn="urn:cluster:/kubernetes:prod"} 1
kubetopo_componentstatus_healthy{cluster="prod",name="scheduler",urn="urn:cluster:/kubernetes:prod"} 0
# HELP kubetopo_controlplane_component_healthy Whether a control-plane component's health endpoint (/healthz; etcd: /health) answered 200 at the last poll (1) or not (0).
# TYPE kubetopo_controlplane_component_healthy gauge
kubetopo_controlplane_component_healthy{address="10.0.0.1:10259",cluster="prod",component="scheduler",urn="urn:kubernetes:/prod:kube-system:pod/kube-scheduler-cp-1"} 1
# HELP kubetopo_controlplane_probe_success Whether the last poll of a control-plane health endpoint of the apiserver got an answer it could read (1) or not (0: unreachable, forbidden, not served).
# TYPE kubetopo_controlplane_probe_success gauge
kubetopo_controlplane_probe_success{probe="livez"} 0
kubetopo_controlplane_probe_success{probe="readyz"} 1
`
	if got := gather(t, h, APIServerHealthCheck, APIServerHealthy, ComponentStatus, ComponentHealthy, ProbeSuccess); got != strings.TrimPrefix(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestNoteOutcome: one log line when a probe starts failing, none while it
// keeps failing the same way, one when it recovers.
func TestNoteOutcome(t *testing.T) {
	var n int
	h := newHealth("prod", "urn", nil, nil, nil, time.Second, log.LoggerFunc(func(...any) error { n++; return nil }))
	fail := errors.New("connection refused")
	for _, step := range []struct {
		err  error
		want int
	}{{nil, 0}, {fail, 1}, {fail, 1}, {fail, 1}, {errors.New("HTTP 403"), 2}, {nil, 3}, {nil, 3}} {
		h.noteOutcome("readyz", step.err)
		if n != step.want {
			t.Fatalf("after %v: %d log lines, want %d", step.err, n, step.want)
		}
	}
}
