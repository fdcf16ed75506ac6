package rules

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

const controlPlaneRunbook = "https://github.com/kubetopo/kubetopo/blob/main/docs/control-plane.md#"

// TestControlPlaneRules checks controlplane.rules.yml the way the other rule
// files are checked: strict YAML and PromQL, recording-rule names,
// annotations, a runbook section in docs/control-plane.md per alert, and a
// firing case (with the component's urn) and a silent case in
// tests/controlplane_test.yml per alert and a test per recording rule.
func TestControlPlaneRules(t *testing.T) {
	runbook, err := os.ReadFile("../docs/control-plane.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := readTests(t, "tests/controlplane_test.yml")
	firing, silent, evaluated := map[string]int{}, map[string]int{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) == 0 {
				silent[a.Alertname]++
			}
			for _, e := range a.ExpAlerts {
				firing[a.Alertname]++
				if e.ExpLabels["urn"] == "" {
					t.Errorf("%s: a firing case expects no urn label", a.Alertname)
				}
			}
		}
		for _, e := range tc.PromQLExprTest {
			evaluated[strings.TrimSpace(e.Expr)] = true
		}
	}
	recordName := regexp.MustCompile(`^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$`)
	seen := map[string]bool{}
	for _, g := range parse(t, "controlplane.rules.yml").Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				t.Run(r.Record, func(t *testing.T) {
					if !recordName.MatchString(r.Record) {
						t.Errorf("not level:metric:operations")
					}
					if !evaluated[r.Record] {
						t.Errorf("no promql_expr_test in tests/controlplane_test.yml evaluates it")
					}
				})
				continue
			}
			t.Run(r.Alert, func(t *testing.T) {
				if seen[r.Alert] {
					t.Errorf("alert name used twice")
				}
				seen[r.Alert] = true
				if s := r.Labels["severity"]; s != "critical" && s != "warning" {
					t.Errorf("severity %q, want critical or warning", s)
				}
				if s := r.Labels["health_state"]; s != "DEVIATING" && s != "CRITICAL" {
					t.Errorf("health_state %q, want DEVIATING or CRITICAL", s)
				}
				for _, a := range []string{"summary", "description", "runbook_url"} {
					if r.Annotations[a] == "" {
						t.Errorf("no %s annotation", a)
					}
				}
				if want := controlPlaneRunbook + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
					t.Errorf("runbook_url %q, want %q", r.Annotations["runbook_url"], want)
				}
				if !strings.Contains(string(runbook), "\n### "+r.Alert+"\n") {
					t.Errorf("docs/control-plane.md has no section \"### %s\"", r.Alert)
				}
				if firing[r.Alert] == 0 || silent[r.Alert] == 0 {
					t.Errorf("tests/controlplane_test.yml has %d firing and %d silent cases, want at least one of each", firing[r.Alert], silent[r.Alert])
				}
			})
		}
	}
}
