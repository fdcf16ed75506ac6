//go:build integration

package controlplane

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

const clusterName = "cp"

// expect waits until the agent publishes the series (name{labels}, labels as
// the agent renders them: sorted) with the value.
func expect(t *testing.T, a *agentProc, seriesLine string, value float64) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, fmt.Sprintf("%s == %g", seriesLine, value), func() (bool, string) {
		name, _, _ := strings.Cut(seriesLine, "{")
		got := series(a.scrape(t), name)
		v, ok := got[seriesLine]
		if ok && v == value {
			return true, ""
		}
		var b strings.Builder
		fmt.Fprintf(&b, "present=%v value=%g; the agent publishes:\n", ok, v)
		for l, v := range got {
			fmt.Fprintf(&b, "  %s %g\n", l, v)
		}
		return false, b.String() + "agent log:\n" + a.logTail()
	})
}

// expectTopology waits until the agent publishes a series starting with
// prefix.
func expectTopology(t *testing.T, a *agentProc, prefix string) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, "a series starting with "+prefix, func() (bool, string) {
		return len(series(a.scrape(t), prefix)) == 1, "agent log:\n" + a.logTail()
	})
}

// TestControlPlane runs the real agent against a real control plane: the
// apiserver's health checks, componentstatuses and a scheduler it probes; the
// scheduler is stopped and started again under it, etcd too; topology keeps
// flowing throughout.
func TestControlPlane(t *testing.T) {
	c := testenv.StartCluster(t, testbed.Options{Controllers: true})
	ctx := context.Background()
	schedURL, err := c.ComponentURL(testbed.Scheduler)
	if err != nil {
		t.Fatal(err)
	}
	schedInstance := strings.TrimPrefix(schedURL, "https://")
	etcdURL, err := c.ComponentURL(testbed.Etcd)
	if err != nil {
		t.Fatal(err)
	}
	etcdInstance := strings.TrimPrefix(etcdURL, "http://")

	// The controller-manager as a kube-prometheus-style setup exposes it: a
	// Service's EndpointSlice in kube-system naming its pod. The apiserver
	// refuses loopback addresses in EndpointSlices and the testbed's
	// controller-manager listens on 127.0.0.1 only, so the slice names this
	// machine's own non-loopback address and port 1, where nothing listens
	// (an off-machine address would leave the machine: not hermetic). The
	// agent must find it, report it unhealthy, and say so once.
	cmAddr := net.JoinHostPort(ownAddress(t), "1")
	slice := map[string]any{
		"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
		"metadata": map[string]any{
			"name":   "kube-controller-manager-test",
			"labels": map[string]string{"kubernetes.io/service-name": "kube-controller-manager"},
		},
		"addressType": "IPv4",
		"endpoints": []any{map[string]any{
			"addresses":  []string{ownAddress(t)},
			"conditions": map[string]any{"ready": true},
			"targetRef":  map[string]any{"kind": "Pod", "namespace": "kube-system", "name": "kube-controller-manager-cp-1"},
		}},
		"ports": []any{map[string]any{"name": "https-metrics", "port": 1, "protocol": "TCP"}},
	}
	if err := c.Do(ctx, http.MethodPost, "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices", slice, nil); err != nil {
		t.Fatal(err)
	}

	a := startAgent(t, "--kubeconfig="+c.Kubeconfig(), "--cluster.name="+clusterName, "--log.level=info",
		"--controlplane.interval=1s", "--controlplane.timeout=800ms",
		"--controlplane.component-url=scheduler="+schedURL,
		"--controlplane.component-url=etcd="+etcdURL,
		"--controlplane.components.insecure-skip-verify")

	urn := `urn="urn:cluster:/kubernetes:` + clusterName + `"`
	lbl := `cluster="` + clusterName + `",`
	t.Run("apiserver health", func(t *testing.T) {
		for _, ep := range []string{"readyz", "livez"} {
			expect(t, a, `kubetopo_apiserver_healthy{`+lbl+`endpoint="`+ep+`",`+urn+`}`, 1)
			expect(t, a, `kubetopo_apiserver_health_check{check="etcd",`+lbl+`endpoint="`+ep+`",`+urn+`}`, 1)
			expect(t, a, `kubetopo_apiserver_health_check{check="ping",`+lbl+`endpoint="`+ep+`",`+urn+`}`, 1)
			expect(t, a, `kubetopo_controlplane_probe_success{probe="`+ep+`"}`, 1)
		}
		expect(t, a, `kubetopo_apiserver_health_check{check="informer-sync",`+lbl+`endpoint="readyz",`+urn+`}`, 1)
	})
	t.Run("apiserver metrics republished", func(t *testing.T) {
		expect(t, a, `kubetopo_scrape_source_success{source="apiserver"}`, 1)
		// The apiserver's own series, with cluster, the cluster URN and the
		// component they came from; names, types and help kept.
		apiAddr := strings.TrimPrefix(c.Server(), "https://")
		rep := `{` + lbl + urn + `,control_plane_component="apiserver",control_plane_address="` + apiAddr + `",`
		expectTopology(t, a, `apiserver_request_total`+rep+`code="201",component="apiserver",dry_run="",group="discovery.k8s.io",resource="endpointslices",scope="resource",subresource="",verb="POST",version="v1"}`)
		page := a.scrape(t)
		for _, header := range []string{
			"# TYPE apiserver_request_total counter\n",
			"# TYPE apiserver_request_duration_seconds histogram\n",
			"# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n",
		} {
			if strings.Count(page, header) != 1 {
				t.Errorf("the agent's page has %d times %q, want once", strings.Count(page, header), header)
			}
		}
		if n := len(series(page, `apiserver_request_duration_seconds_bucket`+rep)); n == 0 {
			t.Errorf("no apiserver_request_duration_seconds buckets republished")
		}
	})
	t.Run("componentstatuses", func(t *testing.T) {
		// v1.33 still serves them: etcd probed by the apiserver itself, the
		// scheduler and controller-manager only at 127.0.0.1:10259/10257,
		// where the testbed's (on free ports) are not.
		expect(t, a, `kubetopo_componentstatus_healthy{`+lbl+`name="etcd-0",`+urn+`}`, 1)
		expect(t, a, `kubetopo_componentstatus_healthy{`+lbl+`name="scheduler",`+urn+`}`, 0)
		expect(t, a, `kubetopo_controlplane_probe_success{probe="componentstatuses"}`, 1)
	})
	t.Run("discovered controller-manager, unreachable", func(t *testing.T) {
		expect(t, a, `kubetopo_controlplane_targets{component="controller-manager"}`, 1)
		expect(t, a, `kubetopo_controlplane_component_healthy{address="`+cmAddr+`",`+lbl+`component="controller-manager",urn="urn:kubernetes:/`+clusterName+`:kube-system:pod/kube-controller-manager-cp-1"}`, 0)
		expect(t, a, `kubetopo_controlplane_targets{component="etcd"}`, 1) // by URL, no slice
		expect(t, a, `kubetopo_scrape_source_success{source="controller-manager/`+cmAddr+`"}`, 0)
	})

	etcdHealthy := `kubetopo_controlplane_component_healthy{address="` + etcdInstance + `",` + lbl + `component="etcd",` + urn + `}`
	etcdLeader := `etcd_server_has_leader{` + lbl + urn + `,control_plane_component="etcd",control_plane_address="` + etcdInstance + `"}`
	t.Run("etcd by URL", func(t *testing.T) {
		expect(t, a, etcdHealthy, 1)
		expect(t, a, `kubetopo_scrape_source_success{source="etcd/`+etcdInstance+`"}`, 1)
		expect(t, a, etcdLeader, 1)
	})

	// Before anything is stopped: the alerts that must stay quiet on a
	// healthy control plane are checked on one.
	t.Run("rules on a real Prometheus", func(t *testing.T) { testPrometheus(t, a) })

	schedHealthy := `kubetopo_controlplane_component_healthy{address="` + schedInstance + `",` + lbl + `component="scheduler",` + urn + `}`
	schedSuccess := `kubetopo_scrape_source_success{source="scheduler/` + schedInstance + `"}`
	schedSeries := `go_goroutines{` + lbl + urn + `,control_plane_component="scheduler",control_plane_address="` + schedInstance + `"}`
	t.Run("scheduler stopped and started", func(t *testing.T) {
		expect(t, a, schedHealthy, 1)
		expect(t, a, schedSuccess, 1)
		expectTopology(t, a, schedSeries)
		if err := c.StopComponent(testbed.Scheduler); err != nil {
			t.Fatal(err)
		}
		expect(t, a, schedHealthy, 0)
		expect(t, a, schedSuccess, 0)
		testenv.Eventually(t, 30*time.Second, "the stopped scheduler's series gone", func() (bool, string) {
			return len(series(a.scrape(t), schedSeries)) == 0, "still published"
		})
		// Topology still flows while the agent's probes fail.
		createConfigMap(t, c, "made-after-scheduler-stop")
		expectTopology(t, a, `kubetopo_component_info{`+lbl+`urn="urn:kubernetes:/`+clusterName+`:default:configmap/made-after-scheduler-stop",`)
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := c.StartComponent(sctx, testbed.Scheduler); err != nil {
			t.Fatal(err)
		}
		expect(t, a, schedHealthy, 1)
		expect(t, a, schedSuccess, 1)
		expectTopology(t, a, schedSeries)
	})

	t.Run("etcd stopped: readyz check fails, topology resumes", func(t *testing.T) {
		if err := c.StopComponent(testbed.Etcd); err != nil {
			t.Fatal(err)
		}
		expect(t, a, `kubetopo_apiserver_health_check{check="etcd",`+lbl+`endpoint="readyz",`+urn+`}`, 0)
		expect(t, a, `kubetopo_apiserver_healthy{`+lbl+`endpoint="readyz",`+urn+`}`, 0)
		expect(t, a, etcdHealthy, 0)
		expect(t, a, `kubetopo_scrape_source_success{source="etcd/`+etcdInstance+`"}`, 0)
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := c.StartComponent(sctx, testbed.Etcd); err != nil {
			t.Fatal(err)
		}
		expect(t, a, `kubetopo_apiserver_healthy{`+lbl+`endpoint="readyz",`+urn+`}`, 1)
		expect(t, a, `kubetopo_apiserver_health_check{check="etcd",`+lbl+`endpoint="readyz",`+urn+`}`, 1)
		expect(t, a, etcdHealthy, 1)
		expect(t, a, etcdLeader, 1)
		createConfigMap(t, c, "made-after-etcd-restart")
		expectTopology(t, a, `kubetopo_component_info{`+lbl+`urn="urn:kubernetes:/`+clusterName+`:default:configmap/made-after-etcd-restart",`)
	})

	t.Run("RBAC", func(t *testing.T) { testRBAC(t, c, schedURL) })

	t.Run("quiet logs", func(t *testing.T) {
		// Dozens of failed polls of the unreachable controller-manager and
		// the stopped scheduler: at most one line each that says so.
		log := a.logText()
		if n := countLines(log, cmAddr); n != 1 {
			t.Errorf("the unreachable controller-manager's address is in %d log lines at level info, want 1:\n%s", n, a.logTail())
		}
		if n := countLines(log, "level=warn"); n > 0 {
			t.Errorf("%d warning lines:\n%s", n, a.logTail())
		}
		if n := countLines(log, "level=error"); n > 0 {
			t.Errorf("%d error lines:\n%s", n, a.logTail())
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		// The agent's page may carry the lint findings of the apiserver's own
		// metrics it republishes, and nothing else.
		upstream := map[string]bool{}
		for _, l := range promtoolCheck(t, getMetrics(t, c.HTTPClient(), c.Server()+"/metrics")) {
			upstream[l] = true
		}
		for _, l := range promtoolCheck(t, getMetrics(t, schedulerClient(t, c), schedURL+"/metrics")) {
			upstream[l] = true
		}
		for _, l := range promtoolCheck(t, getMetrics(t, http.DefaultClient, etcdURL+"/metrics")) {
			upstream[l] = true
		}
		t.Logf("promtool check metrics finds %d problems in the apiserver's, scheduler's and etcd's own /metrics", len(upstream))
		for _, l := range promtoolCheck(t, a.scrape(t)) {
			if !upstream[l] {
				t.Errorf("promtool check metrics on the agent's /metrics: %s", l)
			}
		}
	})
}

func countLines(text, sub string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// ownAddress is this machine's first non-loopback IPv4 address.
func ownAddress(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
			return n.IP.String()
		}
	}
	t.Fatalf("no non-loopback IPv4 address on this machine (%v): the EndpointSlice of the controller-manager needs one", addrs)
	return ""
}

func createConfigMap(t *testing.T, c *testbed.Cluster, name string) {
	t.Helper()
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Right after an etcd restart the apiserver may still refuse: retry
	// until the deadline.
	var err error
	for ctx.Err() == nil {
		if err = c.Do(ctx, http.MethodPost, "/api/v1/namespaces/default/configmaps", cm, nil); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond) // retry interval, not synchronisation
	}
	t.Fatalf("creating configmap %s: %v", name, err)
}

// schedulerClient authenticates as the admin without verifying the
// scheduler's self-signed serving certificate.
func schedulerClient(t *testing.T, c *testbed.Cluster) *http.Client {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(c.AdminCertFile, c.AdminKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, //nolint:gosec // loopback test component
	}}}
}

// getMetrics GETs an exposition.
func getMetrics(t *testing.T, hc *http.Client, u string) string {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s %v", resp.Status, err)
	}
	return string(b)
}

// promtoolCheck runs the testbed's promtool check metrics on an exposition and
// returns its problem lines.
func promtoolCheck(t *testing.T, exposition string) []string {
	t.Helper()
	cmd := exec.Command(testenv.BinDir()+"/promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	out, _ := cmd.CombinedOutput()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
