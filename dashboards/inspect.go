package dashboards

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Dashboard is what tests and tools read from a dashboard file: its
// variables, panels, queries and links.
type Dashboard struct {
	File  string
	UID   string
	Title string
	// Raw is the whole decoded JSON.
	Raw    map[string]any
	Vars   []Variable
	Panels []Panel
	// Links are the URLs of dashboard links and data links, with where
	// they are ("dashboard" or the panel title and column).
	Links []LinkRef
}

// Variable is a dashboard template variable.
type Variable struct {
	Name, Type, Query string
	DatasourceUID     string
	IncludeAll        bool
	Hidden            bool
}

// Panel is a panel with its queries.
type Panel struct {
	ID            int
	Type, Title   string
	DatasourceUID string
	Targets       []Target
	// LinkColumns are the table columns (labels) that carry data links
	// ("" for a panel-wide link).
	LinkColumns []string
}

// Target is one query of a panel.
type Target struct {
	RefID, Expr, DatasourceUID string
}

// LinkRef is one link URL and where it is.
type LinkRef struct {
	Where, URL string
}

// Load reads every *.json dashboard of fsys.
func Load(fsys fs.FS) ([]Dashboard, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Dashboard
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		d, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		d.File = n
		out = append(out, d)
	}
	return out, nil
}

// Parse decodes one dashboard file.
func Parse(b []byte) (Dashboard, error) {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return Dashboard{}, fmt.Errorf("decoding dashboard JSON: %w", err)
	}
	d := Dashboard{Raw: raw, UID: str(raw["uid"]), Title: str(raw["title"])}
	tmpl, _ := raw["templating"].(map[string]any)
	for _, v := range list(tmpl["list"]) {
		v, _ := v.(map[string]any)
		q := v["query"]
		if m, ok := q.(map[string]any); ok {
			q = m["query"]
		}
		hide, _ := v["hide"].(float64)
		all, _ := v["includeAll"].(bool)
		d.Vars = append(d.Vars, Variable{Name: str(v["name"]), Type: str(v["type"]), Query: str(q), DatasourceUID: dsUID(v["datasource"]), IncludeAll: all, Hidden: hide == 2})
	}
	for _, l := range list(raw["links"]) {
		l, _ := l.(map[string]any)
		if str(l["type"]) == "link" {
			d.Links = append(d.Links, LinkRef{Where: "dashboard link " + str(l["title"]), URL: str(l["url"])})
		}
	}
	for _, p := range list(raw["panels"]) {
		p, _ := p.(map[string]any)
		id, _ := p["id"].(float64)
		panel := Panel{ID: int(id), Type: str(p["type"]), Title: str(p["title"]), DatasourceUID: dsUID(p["datasource"])}
		for _, t := range list(p["targets"]) {
			t, _ := t.(map[string]any)
			panel.Targets = append(panel.Targets, Target{RefID: str(t["refId"]), Expr: str(t["expr"]), DatasourceUID: dsUID(t["datasource"])})
		}
		fc, _ := p["fieldConfig"].(map[string]any)
		defaults, _ := fc["defaults"].(map[string]any)
		for _, l := range list(defaults["links"]) {
			l, _ := l.(map[string]any)
			panel.LinkColumns = append(panel.LinkColumns, "")
			d.Links = append(d.Links, LinkRef{Where: "panel " + panel.Title, URL: str(l["url"])})
		}
		for _, o := range list(fc["overrides"]) {
			o, _ := o.(map[string]any)
			matcher, _ := o["matcher"].(map[string]any)
			col := str(matcher["options"])
			for _, prop := range list(o["properties"]) {
				prop, _ := prop.(map[string]any)
				if str(prop["id"]) != "links" {
					continue
				}
				panel.LinkColumns = append(panel.LinkColumns, col)
				for _, l := range list(prop["value"]) {
					l, _ := l.(map[string]any)
					d.Links = append(d.Links, LinkRef{Where: "panel " + panel.Title + " column " + col, URL: str(l["url"])})
				}
			}
		}
		d.Panels = append(d.Panels, panel)
	}
	return d, nil
}

// LinkTarget is what a /d/<uid> link URL names.
type LinkTarget struct {
	UID       string
	Vars      map[string]string
	ViewPanel string
}

var dashURL = regexp.MustCompile(`^/d/([a-z0-9-]+)(?:/[a-z0-9-]*)?\?(.*)$`)

// ParseLink reads a dashboard link URL.
func ParseLink(u string) (LinkTarget, error) {
	m := dashURL.FindStringSubmatch(u)
	if m == nil {
		return LinkTarget{}, fmt.Errorf("link %q is not /d/<uid>?…", u)
	}
	t := LinkTarget{UID: m[1], Vars: map[string]string{}}
	for _, kv := range strings.Split(m[2], "&") {
		k, v, _ := strings.Cut(kv, "=")
		if v2, err := url.QueryUnescape(v); err == nil {
			v = v2
		}
		switch {
		case strings.HasPrefix(k, "var-"):
			t.Vars[strings.TrimPrefix(k, "var-")] = v
		case k == "viewPanel":
			t.ViewPanel = v
		}
	}
	return t, nil
}

func str(v any) string { s, _ := v.(string); return s }

func list(v any) []any { l, _ := v.([]any); return l }

func dsUID(v any) string {
	m, _ := v.(map[string]any)
	return str(m["uid"])
}

// Substitute replaces Grafana's variables in a query: ${name}, $name and the
// built-in interval variables.
func Substitute(expr string, values map[string]string, interval string) string {
	for _, b := range []string{"$__rate_interval", "$__interval", "$__range"} {
		expr = strings.ReplaceAll(expr, b, interval)
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	// Longest first, so that $pod_urn is not read as $pod followed by "_urn".
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		expr = strings.ReplaceAll(expr, "${"+n+"}", values[n])
		expr = strings.ReplaceAll(expr, "$"+n, values[n])
	}
	return expr
}

var labelValues = regexp.MustCompile(`(?s)^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// LabelValuesQuery splits a variable query label_values(selector, label).
func LabelValuesQuery(q string) (selector, label string, err error) {
	m := labelValues.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return "", "", fmt.Errorf("variable query %q is not label_values(selector, label)", q)
	}
	return strings.TrimSpace(m[1]), m[2], nil
}
