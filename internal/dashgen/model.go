// Package dashgen generates kubetopo's Grafana dashboards (the JSON files in
// dashboards/): StackState's four per-cluster views and the drill-downs for a
// workload, a pod, a node, a namespace and a component's dependencies, with
// the component actions as links between them. Dashboards are built as data
// here so that their queries, variables and links stay consistent;
// `go generate ./dashboards` writes them, and a test fails when the
// committed files differ from what this package generates.
package dashgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// SchemaVersion is the dashboard schema of Grafana 11 (Grafana 12 migrates it
// on load).
const SchemaVersion = 39

// datasource is how every panel, query and query variable names its data
// source: the dashboard's `datasource` variable, never a fixed UID.
func datasource() map[string]any { return map[string]any{"type": "prometheus", "uid": "${datasource}"} }

// Dashboard is one generated dashboard.
type Dashboard struct {
	UID         string
	Title       string
	Description string
	Vars        []Var
	Links       []Link
	Panels      []Panel
}

// Var is a dashboard variable other than `datasource`.
type Var struct {
	Name, Label string
	// Query is a Grafana Prometheus variable query: label_values(selector, label).
	Query string
	// All adds an "All" option (multi-select, regex `.*`).
	All bool
	// Hidden variables are derived (a URN from a name) and not shown.
	Hidden bool
}

// Link is a dashboard-level link, or a data link on a table column.
type Link struct {
	Title string
	// UID of the target dashboard; Params are its URL query parameters
	// (var-… values may use ${…} interpolation).
	UID    string
	Params [][2]string
	// ViewPanel, when set, opens the target dashboard on that panel alone.
	ViewPanel int
}

// URL is the link's Grafana URL.
func (l Link) URL() string {
	var b strings.Builder
	b.WriteString("/d/" + l.UID + "?")
	params := append([][2]string{}, l.Params...)
	if l.ViewPanel != 0 {
		params = append(params, [2]string{"viewPanel", fmt.Sprint(l.ViewPanel)})
	}
	for i, p := range params {
		if i > 0 {
			b.WriteString("&")
		}
		// Keep ${…} readable: Grafana interpolates before navigating.
		b.WriteString(p[0] + "=" + strings.NewReplacer(" ", "%20", "&", "%26").Replace(p[1]))
	}
	return b.String()
}

// Panel kinds.
const (
	Stat       = "stat"
	Table      = "table"
	TimeSeries = "timeseries"
)

// Panel is one panel; its ID is stable (links use it with viewPanel).
type Panel struct {
	ID          int
	Kind        string
	Title       string
	Description string
	W, H        int
	Unit        string
	Queries     []Query
	// ColumnLinks are data links per table column (or, on a stat, for the
	// whole panel under the key "").
	ColumnLinks map[string][]Link
	// States maps values to text and colour (health states).
	States []State
	// Hide lists table columns to leave out (besides Time and __name__).
	Hide []string
}

// Query is one PromQL query of a panel.
type Query struct {
	Expr   string
	Legend string
}

// State maps a numeric value to a name and a colour.
type State struct {
	Value int
	Text  string
	Color string
}

// HealthStates are StackState's, as the health recording rule numbers them.
func HealthStates() []State {
	return []State{{0, "CLEAR", "green"}, {1, "DEVIATING", "orange"}, {2, "CRITICAL", "red"}}
}

// JSON renders the dashboard as provisioning-ready Grafana JSON.
func (d Dashboard) JSON() ([]byte, error) {
	m := map[string]any{
		"uid":                  d.UID,
		"title":                d.Title,
		"description":          d.Description,
		"tags":                 []string{"kubetopo", "kubernetes"},
		"editable":             true,
		"graphTooltip":         1,
		"schemaVersion":        SchemaVersion,
		"version":              1,
		"time":                 map[string]any{"from": "now-1h", "to": "now"},
		"refresh":              "30s",
		"timezone":             "",
		"fiscalYearStartMonth": 0,
		"liveNow":              false,
		"annotations":          map[string]any{"list": []any{}},
		"templating":           map[string]any{"list": d.templating()},
		"links":                d.links(),
		"panels":               d.panels(),
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding dashboard %s: %w", d.UID, err)
	}
	return b.Bytes(), nil
}

func (d Dashboard) templating() []any {
	list := []any{map[string]any{
		"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
		"current": map[string]any{}, "hide": 0, "includeAll": false, "multi": false, "options": []any{},
		"refresh": 1, "regex": "",
	}}
	for _, v := range d.Vars {
		hide := 0
		if v.Hidden {
			hide = 2
		}
		m := map[string]any{
			"name": v.Name, "label": v.Label, "type": "query", "datasource": datasource(),
			"query":      map[string]any{"qryType": 1, "query": v.Query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
			"definition": v.Query, "current": map[string]any{}, "hide": hide, "includeAll": v.All, "multi": v.All,
			"options": []any{}, "refresh": 2, "regex": "", "sort": 1,
		}
		if v.All {
			m["allValue"] = ".*"
		}
		list = append(list, m)
	}
	return list
}

func (d Dashboard) links() []any {
	out := []any{}
	for _, l := range d.Links {
		out = append(out, map[string]any{
			"title": l.Title, "type": "link", "url": l.URL(), "icon": "dashboard",
			"keepTime": true, "includeVars": false, "targetBlank": false, "asDropdown": false, "tags": []string{}, "tooltip": "",
		})
	}
	return append(out, map[string]any{
		"title": "kubetopo", "type": "dashboards", "tags": []string{"kubetopo"}, "asDropdown": true,
		"keepTime": true, "includeVars": false, "targetBlank": false, "icon": "external link", "url": "", "tooltip": "",
	})
}

// panels lays panels out left to right on Grafana's 24-column grid.
func (d Dashboard) panels() []any {
	var out []any
	x, y, rowH := 0, 0, 0
	for _, p := range d.Panels {
		if x+p.W > 24 {
			x, y, rowH = 0, y+rowH, 0
		}
		out = append(out, p.render(x, y))
		x += p.W
		if p.H > rowH {
			rowH = p.H
		}
	}
	return out
}

func dataLinks(links []Link) []any {
	var out []any
	for _, l := range links {
		out = append(out, map[string]any{"title": l.Title, "url": l.URL(), "targetBlank": false})
	}
	return out
}

func (p Panel) render(x, y int) map[string]any {
	table := p.Kind == Table
	var targets []any
	for i, q := range p.Queries {
		t := map[string]any{
			"datasource": datasource(), "expr": q.Expr, "refId": string(rune('A' + i)),
			"legendFormat": q.Legend, "editorMode": "code", "range": !table && p.Kind != Stat, "instant": table || p.Kind == Stat,
		}
		if table {
			t["format"] = "table"
		}
		targets = append(targets, t)
	}
	defaults := map[string]any{"unit": p.Unit}
	if len(p.States) > 0 {
		opts := map[string]any{}
		for _, s := range p.States {
			opts[fmt.Sprint(s.Value)] = map[string]any{"text": s.Text, "color": s.Color, "index": s.Value}
		}
		defaults["mappings"] = []any{map[string]any{"type": "value", "options": opts}}
		defaults["color"] = map[string]any{"mode": "thresholds"}
		defaults["thresholds"] = map[string]any{"mode": "absolute", "steps": []any{
			map[string]any{"color": "green", "value": nil}, map[string]any{"color": "orange", "value": 1}, map[string]any{"color": "red", "value": 2}}}
	}
	if l, ok := p.ColumnLinks[""]; ok {
		defaults["links"] = dataLinks(l)
	}
	var overrides []any
	for _, col := range sortedKeys(p.ColumnLinks) {
		if col == "" {
			continue
		}
		overrides = append(overrides, map[string]any{
			"matcher":    map[string]any{"id": "byName", "options": col},
			"properties": []any{map[string]any{"id": "links", "value": dataLinks(p.ColumnLinks[col])}},
		})
	}
	if overrides == nil {
		overrides = []any{}
	}
	m := map[string]any{
		"id": p.ID, "type": p.Kind, "title": p.Title, "description": p.Description, "datasource": datasource(),
		"gridPos": map[string]any{"x": x, "y": y, "w": p.W, "h": p.H}, "targets": targets,
		"fieldConfig": map[string]any{"defaults": defaults, "overrides": overrides},
	}
	switch p.Kind {
	case Table:
		hide := map[string]any{"Time": true, "__name__": true, "job": true, "instance": true}
		for _, h := range p.Hide {
			hide[h] = true
		}
		m["transformations"] = []any{
			map[string]any{"id": "merge", "options": map[string]any{}},
			map[string]any{"id": "organize", "options": map[string]any{"excludeByName": hide}},
		}
		m["options"] = map[string]any{"showHeader": true, "cellHeight": "sm", "footer": map[string]any{"show": false}}
	case Stat:
		m["options"] = map[string]any{"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
			"colorMode": "value", "graphMode": "none", "textMode": "auto", "orientation": "auto", "justifyMode": "auto"}
	case TimeSeries:
		m["options"] = map[string]any{"legend": map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true},
			"tooltip": map[string]any{"mode": "multi", "sort": "desc"}}
	}
	return m
}

func sortedKeys(m map[string][]Link) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FileName is the dashboard's file under dashboards/.
func (d Dashboard) FileName() string { return d.UID + ".json" }
