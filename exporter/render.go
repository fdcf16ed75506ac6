package exporter

import (
	"sort"
	"strconv"
	"strings"

	"github.com/kubetopo/kubetopo/topology"
)

// Metric names: a public API.
const (
	ComponentInfo   = "kubetopo_component_info"
	ComponentLabels = "kubetopo_component_labels"
	RelationInfo    = "kubetopo_relation_info"
)

var families = []struct{ name, help string }{
	{ComponentInfo, "Information about a topology component: one series per component, value 1."},
	{ComponentLabels, "Kubernetes labels of a topology component, as label_<name> labels: one series per Kubernetes object, value 1."},
	{RelationInfo, "A directed relation between two topology components that both exist: one series per relation, value 1."},
}

func header(b []byte, name, help string) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, help...)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, " gauge\n"...)
	return b
}

// appendLabel appends `,name="value"` (without the comma when first).
func appendLabel(b []byte, first bool, name, value string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, name...)
	b = append(b, '=', '"')
	b = AppendLabelValue(b, value)
	return append(b, '"')
}

func renderComponentInfo(cluster string, c *topology.Component) []byte {
	b := make([]byte, 0, 64+2*len(c.URN)+len(c.Name))
	b = append(b, ComponentInfo...)
	b = append(b, '{')
	b = appendLabel(b, true, "cluster", cluster)
	b = appendLabel(b, false, "urn", c.URN)
	b = appendLabel(b, false, "type", c.Type)
	for _, l := range [...]topology.Label{{Name: "namespace", Value: c.Namespace}, {Name: "name", Value: c.Name}, {Name: "uid", Value: c.UID}} {
		if l.Value != "" {
			b = appendLabel(b, false, l.Name, l.Value)
		}
	}
	for _, l := range c.Identity {
		if l.Value != "" {
			b = appendLabel(b, false, l.Name, l.Value)
		}
	}
	return append(b, "} 1\n"...)
}

func renderComponentLabels(cluster string, c *topology.Component, filter *LabelFilter) []byte {
	if c.Labels == nil {
		return nil
	}
	keys := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		if filter.Allowed(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	b := make([]byte, 0, 64+len(c.URN)+32*len(keys))
	b = append(b, ComponentLabels...)
	b = append(b, '{')
	b = appendLabel(b, true, "cluster", cluster)
	b = appendLabel(b, false, "urn", c.URN)
	names := make(map[string]int, len(keys))
	for _, k := range keys {
		name := "label_" + sanitizeLabelName(k)
		// Two keys that sanitise alike (a.b and a_b) both keep their value,
		// the second as name_conflict1, as kube-state-metrics does.
		if n := names[name]; n > 0 {
			names[name] = n + 1
			name += "_conflict" + strconv.Itoa(n)
		} else {
			names[name] = 1
		}
		b = appendLabel(b, false, name, c.Labels[k])
	}
	return append(b, "} 1\n"...)
}

// renderAttrs renders a relation's attribute labels as they follow its fixed
// ones: `,name="value"` each.
func renderAttrs(attrs []topology.Label) string {
	if len(attrs) == 0 {
		return ""
	}
	var b []byte
	for _, l := range attrs {
		b = appendLabel(b, false, l.Name, l.Value)
	}
	return string(b)
}

// labelValue returns s escaped as a label value, s itself when it needs no
// escaping (no allocation).
func labelValue(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return string(AppendLabelValue(nil, s))
}

// sanitizeLabelName turns a Kubernetes label key into a Prometheus label name
// suffix: every character outside [a-zA-Z0-9_] becomes '_'.
func sanitizeLabelName(k string) string {
	b := []byte(k)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
