//go:build integration

package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
	"github.com/kubetopo/kubetopo/internal/testbed/testenv"
)

// testPrometheus has a real Prometheus scrape the agent with
// rules/controlplane.rules.yml loaded, and checks that the rules find the
// series they are written for: the recording rules produce values for the
// test cluster, and the alerts that must be pending there are.
func testPrometheus(t *testing.T, a *agentProc) {
	rules, err := filepath.Abs("../../rules/controlplane.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rules); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files: [%q]
scrape_configs:
  - job_name: kubetopo-cluster-agent
    scrape_timeout: 2s
    static_configs:
      - targets: ['%s']
`, rules, strings.TrimPrefix(a.url, "http://"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := testbed.StartPrometheus(ctx, testenv.BinDir(), filepath.Join(t.TempDir(), "prometheus"), config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })

	for _, tc := range []struct{ query, why string }{
		{`cluster:apiserver_request:rate5m{cluster="cp",urn="urn:cluster:/kubernetes:cp"} > 0`, "the apiserver serves requests"},
		{`cluster:apiserver_request_errors:ratio_rate5m{cluster="cp",urn="urn:cluster:/kubernetes:cp"} >= 0`, "the error ratio is a number"},
		{`cluster_verb:apiserver_request_sli_duration_seconds:p99_rate5m{cluster="cp",urn="urn:cluster:/kubernetes:cp",verb="GET"} > 0`, "GET latency from the SLI histogram"},
		{`cluster:kubetopo_apiserver_ready:avg_over_time1h{cluster="cp",urn="urn:cluster:/kubernetes:cp"} > 0`, "readyz passes"},
		// On the test cluster the apiserver probes the scheduler at
		// 127.0.0.1:10259, where it is not; and the discovered
		// controller-manager is a closed port: both alerts wait out their
		// `for`.
		{`ALERTS{alertname="KubetopoComponentStatusUnhealthy",alertstate="pending",cluster="cp",name="scheduler",health_state="DEVIATING"}`, "componentstatus scheduler unhealthy"},
		{`ALERTS{alertname="KubetopoControlPlaneComponentUnhealthy",alertstate="pending",cluster="cp",component="controller-manager",urn="urn:kubernetes:/cp:kube-system:pod/kube-controller-manager-cp-1"}`, "the unreachable controller-manager"},
		// etcd's own series, republished, as the etcd alerts read them.
		{`etcd_server_has_leader{cluster="cp",control_plane_component="etcd"} == 1`, "etcd has a leader"},
		{`etcd_mvcc_db_total_size_in_bytes{cluster="cp"} / etcd_server_quota_backend_bytes{cluster="cp"} < 0.8`, "etcd's database is far from its quota"},
		{`absent(ALERTS{alertname=~"KubetopoAPIServer.*|KubetopoEtcd.*"})`, "no apiserver or etcd alert on a healthy apiserver"},
	} {
		testenv.Eventually(t, 60*time.Second, tc.why+": "+tc.query, func() (bool, string) {
			qctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := p.Query(qctx, tc.query)
			if err != nil {
				return false, err.Error()
			}
			return len(s) > 0, fmt.Sprintf("no result; prometheus log:\n%s", p.LogTail(10))
		})
	}
}
