package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Metric names: a public API.
const (
	APIServerHealthy     = "kubetopo_apiserver_healthy"
	APIServerHealthCheck = "kubetopo_apiserver_health_check"
	ComponentStatus      = "kubetopo_componentstatus_healthy"
	ComponentHealthy     = "kubetopo_controlplane_component_healthy"
	ProbeSuccess         = "kubetopo_controlplane_probe_success"
	ProbeDurationSeconds = "kubetopo_controlplane_probe_duration_seconds"
	probeComponentStatus = "componentstatuses"
	endpointReadyz       = "readyz"
	endpointLivez        = "livez"
)

var (
	descHealthy = prometheus.NewDesc(APIServerHealthy,
		"Whether the kube-apiserver's /readyz or /livez answered 200 at the last poll (1) or not (0, also when it did not answer).",
		[]string{"cluster", "urn", "endpoint"}, nil)
	descCheck = prometheus.NewDesc(APIServerHealthCheck,
		"State of one named check of the kube-apiserver's /readyz or /livez at the last poll that got an answer: 1 passing, 0 failing.",
		[]string{"cluster", "urn", "endpoint", "check"}, nil)
	descComponentStatus = prometheus.NewDesc(ComponentStatus,
		"Whether a componentstatus (deprecated API, probed by the apiserver itself) has condition Healthy=True (1) or not (0). Absent when the apiserver does not serve componentstatuses.",
		[]string{"cluster", "urn", "name"}, nil)
	descComponentHealthy = prometheus.NewDesc(ComponentHealthy,
		"Whether a control-plane component's health endpoint (/healthz; etcd: /health) answered 200 at the last poll (1) or not (0).",
		[]string{"cluster", "urn", "component", "address"}, nil)
	descProbeSuccess = prometheus.NewDesc(ProbeSuccess,
		"Whether the last poll of a control-plane health endpoint of the apiserver got an answer it could read (1) or not (0: unreachable, forbidden, not served).",
		[]string{"probe"}, nil)
	descProbeDuration = prometheus.NewDesc(ProbeDurationSeconds,
		"Duration of the last poll of a control-plane health endpoint of the apiserver.",
		[]string{"probe"}, nil)
)

// probeResult is the outcome of the last poll of one health endpoint.
type probeResult struct {
	success  bool
	duration time.Duration
}

type endpointState struct {
	healthy bool
	checks  []Check // of the last answer; nil when the last poll got none
}

type componentStatusState struct {
	name    string
	healthy bool
}

type componentHealthKey struct{ component, address, urn string }

// health keeps the result of the last polls and exposes it as metrics.
type health struct {
	cluster, urn string
	client       kubernetes.Interface
	http         *http.Client // client-go's transport: the agent's credentials and the apiserver's CA
	apiBase      *url.URL
	timeout      time.Duration
	logger       log.Logger

	mu         sync.Mutex
	probes     map[string]probeResult
	endpoints  map[string]endpointState
	statuses   []componentStatusState
	components map[componentHealthKey]bool
	failing    map[string]string // probe → the reason last logged, for one line per change
}

func newHealth(cluster, urn string, client kubernetes.Interface, hc *http.Client, apiBase *url.URL, timeout time.Duration, logger log.Logger) *health {
	return &health{
		cluster: cluster, urn: urn, client: client, http: hc, apiBase: apiBase, timeout: timeout, logger: logger,
		probes: map[string]probeResult{}, endpoints: map[string]endpointState{},
		components: map[componentHealthKey]bool{}, failing: map[string]string{},
	}
}

// pollEndpoint reads /readyz?verbose or /livez?verbose.
func (h *health) pollEndpoint(ctx context.Context, endpoint string) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	start := time.Now()
	code, body, err := h.get(ctx, endpoint)
	dur := time.Since(start)

	var st endpointState
	var reason, failing error
	switch {
	case err != nil:
		reason = fmt.Errorf("GET /%s: %w", endpoint, err)
	case code != http.StatusOK && code != http.StatusInternalServerError:
		reason = fmt.Errorf("GET /%s: HTTP %d: %s", endpoint, code, truncate(string(body)))
	default:
		// 500 carries the same verbose body, naming the failed checks.
		checks, perr := parseVerbose(body)
		if perr != nil {
			reason = fmt.Errorf("GET /%s: HTTP %d: %w", endpoint, code, perr)
			break
		}
		st = endpointState{healthy: code == http.StatusOK, checks: checks}
		if !st.healthy {
			failing = fmt.Errorf("/%s fails: %s", endpoint, failedChecks(checks))
		}
	}
	h.mu.Lock()
	h.endpoints[endpoint] = st
	h.probes[endpoint] = probeResult{success: reason == nil, duration: dur}
	h.mu.Unlock()
	h.noteOutcome(endpoint, reason)
	if reason == nil {
		h.noteOutcome(endpoint+" checks", failing)
	}
}

// get GETs /<endpoint>?verbose from the apiserver, reading at most 1 MiB.
func (h *health) get(ctx context.Context, endpoint string) (int, []byte, error) {
	u := *h.apiBase
	u.Path = path.Join("/", u.Path, endpoint)
	u.RawQuery = "verbose"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

func failedChecks(checks []Check) string {
	var names []string
	for _, c := range checks {
		if !c.OK {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return "no check named as failing"
	}
	return strings.Join(names, ", ")
}

// pollComponentStatuses lists componentstatuses. The API is deprecated since
// Kubernetes 1.19; an apiserver that no longer serves it answers 404, which
// removes the series and is logged once, like any other failure.
func (h *health) pollComponentStatuses(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	start := time.Now()
	list, err := h.client.CoreV1().ComponentStatuses().List(ctx, metav1.ListOptions{})
	dur := time.Since(start)
	var states []componentStatusState
	var reason error
	switch {
	case apierrors.IsNotFound(err):
		reason = errors.New("the apiserver does not serve componentstatuses (removed; the API is deprecated since Kubernetes 1.19)")
	case err != nil:
		reason = fmt.Errorf("list componentstatuses: %w", err)
	default:
		for i := range list.Items {
			states = append(states, componentStatusState{name: list.Items[i].Name, healthy: componentStatusHealthy(&list.Items[i])})
		}
		sort.Slice(states, func(i, j int) bool { return states[i].name < states[j].name })
	}
	h.mu.Lock()
	h.statuses = states
	h.probes[probeComponentStatus] = probeResult{success: reason == nil, duration: dur}
	h.mu.Unlock()
	h.noteOutcome(probeComponentStatus, reason)
}

func componentStatusHealthy(cs *corev1.ComponentStatus) bool {
	for _, c := range cs.Conditions {
		if c.Type == corev1.ComponentHealthy {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// setComponentHealth records the result of a component's health probe.
func (h *health) setComponentHealth(k componentHealthKey, healthy bool) {
	h.mu.Lock()
	h.components[k] = healthy
	h.mu.Unlock()
}

// retainComponents forgets the health of component instances no longer
// discovered.
func (h *health) retainComponents(keep map[componentHealthKey]bool) {
	h.mu.Lock()
	for k := range h.components {
		if !keep[k] {
			delete(h.components, k)
		}
	}
	h.mu.Unlock()
}

// noteOutcome logs a probe's failure once, when it starts (or its reason
// changes), and its recovery once: a dead endpoint polled every few seconds
// is one line, not one per poll.
func (h *health) noteOutcome(probe string, reason error) {
	h.mu.Lock()
	last, was := h.failing[probe]
	switch {
	case reason == nil && was:
		delete(h.failing, probe)
	case reason != nil && (!was || last != reason.Error()):
		h.failing[probe] = reason.Error()
	default:
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	if reason == nil {
		level.Info(h.logger).Log("msg", "control-plane probe passes again", "probe", probe)
		return
	}
	level.Info(h.logger).Log("msg", "control-plane probe fails; reported as metrics, logged again only when this changes", "probe", probe, "err", reason)
}

// Describe implements prometheus.Collector.
func (h *health) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHealthy, descCheck, descComponentStatus, descComponentHealthy, descProbeSuccess, descProbeDuration} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the results of the last polls.
func (h *health) Collect(ch chan<- prometheus.Metric) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for endpoint, st := range h.endpoints {
		ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, boolValue(st.healthy), h.cluster, h.urn, endpoint)
		seen := map[string]bool{}
		for _, c := range st.checks {
			if seen[c.Name] {
				continue // a server listing a check twice must not break the scrape
			}
			seen[c.Name] = true
			ch <- prometheus.MustNewConstMetric(descCheck, prometheus.GaugeValue, boolValue(c.OK), h.cluster, h.urn, endpoint, c.Name)
		}
	}
	for _, s := range h.statuses {
		ch <- prometheus.MustNewConstMetric(descComponentStatus, prometheus.GaugeValue, boolValue(s.healthy), h.cluster, h.urn, s.name)
	}
	for k, ok := range h.components {
		ch <- prometheus.MustNewConstMetric(descComponentHealthy, prometheus.GaugeValue, boolValue(ok), h.cluster, k.urn, k.component, k.address)
	}
	for probe, r := range h.probes {
		ch <- prometheus.MustNewConstMetric(descProbeSuccess, prometheus.GaugeValue, boolValue(r.success), probe)
		ch <- prometheus.MustNewConstMetric(descProbeDuration, prometheus.GaugeValue, r.duration.Seconds(), probe)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
