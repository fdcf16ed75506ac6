package rules

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

const runbookBase = "https://github.com/kubetopo/kubetopo/blob/main/docs/alerts.md#"

// ours are kubetopo's rule files; other files in this directory belong to
// other areas (control plane) and test themselves.
var ours = []string{"kubetopo-workloads.rules.yml", "kubetopo-alerts.rules.yml"}

// ruleGroups is a Prometheus rule file. (rulefmt would pull promql, and
// with it modules go.sum does not hold; promtool validates the files fully.)
type ruleGroups struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// parse reads a rule file strictly (unknown keys fail) and parses every
// expression with the PromQL parser.
func parse(t *testing.T, file string) ruleGroups {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rg ruleGroups
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&rg); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	p := parser.NewParser(parser.Options{})
	for _, g := range rg.Groups {
		for _, r := range g.Rules {
			if _, err := p.ParseExpr(r.Expr); err != nil {
				t.Errorf("%s: %s%s: %v", file, r.Record, r.Alert, err)
			}
		}
	}
	return rg
}

// promtoolTests is the part of a promtool test file this test reads.
type promtoolTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromQLExprTest []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

func readTests(t *testing.T, file string) promtoolTests {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var pt promtoolTests
	if err := yaml.Unmarshal(b, &pt); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return pt
}

func TestRuleFilesParse(t *testing.T) {
	for _, f := range ours {
		t.Run(f, func(t *testing.T) { parse(t, f) })
	}
}

func TestRecordingRuleNames(t *testing.T) {
	// level:metric:operations, as Prometheus' naming conventions ask.
	name := regexp.MustCompile(`^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$`)
	tests := readTests(t, "tests/kubetopo-workloads_test.yml")
	for _, g := range parse(t, "kubetopo-workloads.rules.yml").Groups {
		for _, r := range g.Rules {
			if r.Record == "" {
				t.Errorf("group %s: alert %s belongs in kubetopo-alerts.rules.yml", g.Name, r.Alert)
				continue
			}
			t.Run(r.Record, func(t *testing.T) {
				if !name.MatchString(r.Record) {
					t.Errorf("record %q is not level:metric:operations", r.Record)
				}
				tested := false
				for _, tc := range tests.Tests {
					for _, e := range tc.PromQLExprTest {
						tested = tested || strings.HasPrefix(strings.TrimSpace(e.Expr), r.Record)
					}
				}
				if !tested {
					t.Errorf("no promql_expr_test in tests/kubetopo-workloads_test.yml evaluates %s", r.Record)
				}
			})
		}
	}
}

func TestAlerts(t *testing.T) {
	runbook, err := os.ReadFile("../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := readTests(t, "tests/kubetopo-alerts_test.yml")
	firing, silent := map[string]int{}, map[string]int{}
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
	}
	severities := map[string]bool{"critical": true, "warning": true, "info": true}
	seen := map[string]bool{}
	for _, g := range parse(t, "kubetopo-alerts.rules.yml").Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: recording rule %s belongs in kubetopo-workloads.rules.yml", g.Name, r.Record)
				continue
			}
			t.Run(r.Alert, func(t *testing.T) {
				if seen[r.Alert] {
					t.Errorf("alert name used twice")
				}
				seen[r.Alert] = true
				if !severities[r.Labels["severity"]] {
					t.Errorf("severity %q, want critical, warning or info", r.Labels["severity"])
				}
				if s := r.Labels["health_state"]; s != "" && s != "DEVIATING" && s != "CRITICAL" {
					t.Errorf("health_state %q, want DEVIATING or CRITICAL", s)
				}
				for _, a := range []string{"summary", "description", "runbook_url"} {
					if r.Annotations[a] == "" {
						t.Errorf("no %s annotation", a)
					}
				}
				if want := runbookBase + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
					t.Errorf("runbook_url %q, want %q", r.Annotations["runbook_url"], want)
				}
				if !strings.Contains(string(runbook), "\n### "+r.Alert+"\n") {
					t.Errorf("docs/alerts.md has no section \"### %s\"", r.Alert)
				}
				if firing[r.Alert] == 0 || silent[r.Alert] == 0 {
					t.Errorf("tests/kubetopo-alerts_test.yml has %d firing and %d silent cases, want at least one of each", firing[r.Alert], silent[r.Alert])
				}
			})
		}
	}
}
