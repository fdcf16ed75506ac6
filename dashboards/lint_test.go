package dashboards

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// lintCluster stands in for $cluster: every selector must carry it, so no
// query reads another cluster's series and none names a cluster itself.
const lintCluster = "LINT_CLUSTER"

func load(t *testing.T) []Dashboard {
	t.Helper()
	ds, err := Load(FS())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 {
		t.Fatal("no dashboards")
	}
	return ds
}

func lintValues(d Dashboard) map[string]string {
	v := map[string]string{"cluster": lintCluster, "datasource": "lint-datasource"}
	for _, x := range d.Vars {
		if _, ok := v[x.Name]; !ok {
			v[x.Name] = "lint_" + x.Name
		}
	}
	return v
}

// checkSelectors parses expr and requires cluster="LINT_CLUSTER" (or =~) on
// every vector selector.
func checkSelectors(expr string, needCluster bool) error {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return fmt.Errorf("does not parse: %w\n%s", err, expr)
	}
	var problems []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || !needCluster {
			return nil
		}
		if !hasCluster(vs.LabelMatchers) {
			problems = append(problems, vs.String())
		}
		return nil
	})
	if len(problems) > 0 {
		return fmt.Errorf("selectors without cluster=\"$cluster\": %s", strings.Join(problems, ", "))
	}
	return nil
}

func hasCluster(ms []*labels.Matcher) bool {
	for _, m := range ms {
		if m.Name == "cluster" && m.Value == lintCluster && (m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp) {
			return true
		}
	}
	return false
}

func TestStructure(t *testing.T) {
	uids, titles := map[string]string{}, map[string]string{}
	for _, d := range load(t) {
		t.Run(d.File, func(t *testing.T) {
			if d.UID == "" || d.Title == "" {
				t.Fatalf("uid %q, title %q: both required", d.UID, d.Title)
			}
			if d.File != d.UID+".json" {
				t.Errorf("file %s holds uid %s: name files after their uid", d.File, d.UID)
			}
			if len(d.UID) > 40 {
				t.Errorf("uid %q is longer than Grafana's 40 characters", d.UID)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %s also in %s", d.UID, other)
			}
			uids[d.UID] = d.File
			if other, dup := titles[d.Title]; dup {
				t.Errorf("title %q also in %s", d.Title, other)
			}
			titles[d.Title] = d.File
			if _, ok := d.Raw["__inputs"]; ok {
				t.Error("has __inputs: provisioning-style dashboards use the datasource variable")
			}
			if v, _ := d.Raw["schemaVersion"].(float64); v < 39 {
				t.Errorf("schemaVersion %v, want a current Grafana's (>= 39)", d.Raw["schemaVersion"])
			}
			if len(d.Vars) == 0 || d.Vars[0].Name != "datasource" || d.Vars[0].Type != "datasource" || d.Vars[0].Query != "prometheus" {
				t.Errorf("the first variable must be `datasource` of type datasource, query prometheus")
			}
			names := map[string]bool{}
			for _, v := range d.Vars {
				names[v.Name] = true
			}
			if !names["cluster"] {
				t.Error("no cluster variable")
			}
			ids := map[int]bool{}
			for _, p := range d.Panels {
				if ids[p.ID] {
					t.Errorf("panel id %d used twice", p.ID)
				}
				ids[p.ID] = true
				if p.Title == "" {
					t.Errorf("panel %d has no title", p.ID)
				}
				if p.DatasourceUID != "${datasource}" {
					t.Errorf("panel %q: datasource %q, want ${datasource}", p.Title, p.DatasourceUID)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					if tg.DatasourceUID != "${datasource}" {
						t.Errorf("panel %q query %s: datasource %q, want ${datasource}", p.Title, tg.RefID, tg.DatasourceUID)
					}
					if refs[tg.RefID] || tg.RefID == "" {
						t.Errorf("panel %q: refId %q empty or repeated", p.Title, tg.RefID)
					}
					refs[tg.RefID] = true
				}
			}
		})
	}
}

var clusterLiteral = regexp.MustCompile(`cluster\s*=~?\s*\\?"[^$\\"]`)

func TestQueries(t *testing.T) {
	for _, d := range load(t) {
		t.Run(d.File, func(t *testing.T) {
			values := lintValues(d)
			for _, p := range d.Panels {
				for _, tg := range p.Targets {
					if clusterLiteral.MatchString(tg.Expr) {
						t.Errorf("panel %q query %s names a cluster: %s", p.Title, tg.RefID, tg.Expr)
					}
					if err := checkSelectors(Substitute(tg.Expr, values, "5m"), true); err != nil {
						t.Errorf("panel %q query %s: %v", p.Title, tg.RefID, err)
					}
				}
			}
			for _, v := range d.Vars {
				if v.Type != "query" {
					continue
				}
				if v.DatasourceUID != "${datasource}" {
					t.Errorf("variable %s: datasource %q, want ${datasource}", v.Name, v.DatasourceUID)
				}
				sel, _, err := LabelValuesQuery(v.Query)
				if err != nil {
					t.Error(err)
					continue
				}
				// The cluster variable lists the clusters; every other reads one.
				if err := checkSelectors(Substitute(sel, values, "5m"), v.Name != "cluster"); err != nil {
					t.Errorf("variable %s: %v", v.Name, err)
				}
			}
		})
	}
}

func TestLinks(t *testing.T) {
	ds := load(t)
	byUID := map[string]Dashboard{}
	for _, d := range ds {
		byUID[d.UID] = d
	}
	actions := map[string]bool{}
	for _, d := range ds {
		for _, l := range d.Links {
			target, err := ParseLink(l.URL)
			if err != nil {
				t.Errorf("%s, %s: %v", d.File, l.Where, err)
				continue
			}
			td, ok := byUID[target.UID]
			if !ok {
				t.Errorf("%s, %s: links to uid %s, which no dashboard has", d.File, l.Where, target.UID)
				continue
			}
			vars := map[string]bool{}
			for _, v := range td.Vars {
				vars[v.Name] = true
			}
			for name := range target.Vars {
				if !vars[name] {
					t.Errorf("%s, %s: sets var-%s, which %s does not have", d.File, l.Where, name, td.UID)
				}
			}
			if target.ViewPanel != "" {
				id, err := strconv.Atoi(target.ViewPanel)
				found := false
				for _, p := range td.Panels {
					found = found || (err == nil && p.ID == id)
				}
				if !found {
					t.Errorf("%s, %s: viewPanel=%s is no panel of %s", d.File, l.Where, target.ViewPanel, td.UID)
				}
			}
		}
		for _, raw := range linkTitles(d) {
			actions[raw] = true
		}
	}
	for _, a := range []string{"Show pods", "Show configuration and storage", "Show dependencies (deep)", "Show pods & services", "Show services", "Show workloads"} {
		if !actions[a] {
			t.Errorf("no link offers the component action %q", a)
		}
	}
}

// linkTitles collects the titles of every link in a dashboard's JSON.
func linkTitles(d Dashboard) []string {
	var out []string
	var walk func(v any, inLinks bool)
	walk = func(v any, inLinks bool) {
		switch x := v.(type) {
		case map[string]any:
			if inLinks {
				if s, ok := x["title"].(string); ok {
					out = append(out, s)
				}
			}
			for k, c := range x {
				walk(c, k == "links" || (k == "value" && inLinks))
			}
		case []any:
			for _, c := range x {
				walk(c, inLinks)
			}
		}
	}
	walk(d.Raw, false)
	return out
}

func TestFourViews(t *testing.T) {
	titles := map[string]bool{}
	for _, d := range load(t) {
		titles[d.Title] = true
	}
	for _, v := range []string{"Kubernetes - Applications", "Kubernetes - Infrastructure", "Kubernetes - Namespaces", "Kubernetes - Workload Controllers"} {
		if !titles[v] {
			t.Errorf("no dashboard %q", v)
		}
	}
}
