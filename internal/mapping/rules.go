// Package mapping maps any series onto the topology component it describes:
// by its `urn` label when it has one, else by rules — data, not code — for
// kube-state-metrics, kubelet/cAdvisor, node_exporter, OpenTelemetry k8s.*
// attributes and pods scraped through kubernetes_sd. default_rules.yaml is
// the documented default set; a file can replace it. docs/mapping.md is the
// reference.
package mapping

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubetopo/kubetopo/topology"
)

//go:embed default_rules.yaml
var defaultRules []byte

// DefaultRules returns the embedded default rules file.
func DefaultRules() []byte { return bytes.Clone(defaultRules) }

// Config is a rules file.
type Config struct {
	// ClusterLabel names the label that carries the cluster name.
	ClusterLabel string `yaml:"cluster_label"`
	Rules        []Rule `yaml:"rules"`
}

// Rule maps the series it matches onto one component type.
type Rule struct {
	Name      string               `yaml:"name"`
	Match     Match                `yaml:"match"`
	Component string               `yaml:"component"`
	Labels    map[string]LabelList `yaml:"labels"`
	// Exclude skips the rule when a label has one of the listed values.
	Exclude map[string][]string `yaml:"exclude,omitempty"`
	// TrimPort cuts a trailing ":port" from the values (for `instance`).
	TrimPort bool `yaml:"trim_port,omitempty"`
}

// Match selects metric names; at least one field must be set.
type Match struct {
	Names    []string `yaml:"names,omitempty"`
	Prefixes []string `yaml:"prefixes,omitempty"`
	Regex    string   `yaml:"regex,omitempty"` // anchored at both ends
	Any      bool     `yaml:"any,omitempty"`   // every metric name

	re *regexp.Regexp
}

// LabelList is one label name or a list of them, tried in order.
type LabelList []string

// UnmarshalYAML accepts a scalar or a sequence.
func (l *LabelList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = LabelList{n.Value}
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = s
		return nil
	}
	return fmt.Errorf("line %d: a label name or a list of label names expected", n.Line)
}

// roles lists the URN parts each component type needs.
func roles(typ string) ([]string, bool) {
	switch typ {
	case topology.TypeContainer:
		return []string{"namespace", "pod", "container"}, true
	case topology.TypeNamespace, topology.TypeNode, topology.TypePersistentVolume:
		return []string{"name"}, true
	case topology.TypePod, topology.TypeService, topology.TypeDeployment, topology.TypeReplicaSet,
		topology.TypeStatefulSet, topology.TypeDaemonSet, topology.TypeJob, topology.TypeCronJob,
		topology.TypeIngress, topology.TypeConfigMap, topology.TypeSecret, topology.TypePersistentVolumeClaim:
		return []string{"namespace", "name"}, true
	}
	return nil, false
}

// Parse reads and validates a rules file: unknown keys, unknown component
// types, missing or unknown roles, bad regexes and duplicate names are errors.
func Parse(b []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse mapping rules: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("invalid mapping rules: %w", err)
	}
	return &c, nil
}

// LoadFile reads a rules file; an empty path means the default rules.
func LoadFile(path string) (*Config, error) {
	if path == "" {
		return Parse(defaultRules)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping rules: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *Config) validate() error {
	if c.ClusterLabel == "" {
		c.ClusterLabel = "cluster"
	}
	if len(c.Rules) == 0 {
		return errors.New("no rules")
	}
	names := map[string]bool{}
	var errs []error
	for i := range c.Rules {
		r := &c.Rules[i]
		if err := r.validate(); err != nil {
			errs = append(errs, fmt.Errorf("rule %d (%q): %w", i+1, r.Name, err))
			continue
		}
		if names[r.Name] {
			errs = append(errs, fmt.Errorf("rule %d: duplicate name %q", i+1, r.Name))
		}
		names[r.Name] = true
	}
	return errors.Join(errs...)
}

func (r *Rule) validate() error {
	if r.Name == "" {
		return errors.New("name is required")
	}
	want, ok := roles(r.Component)
	if !ok {
		return fmt.Errorf("component %q is not a type rules can map to", r.Component)
	}
	var missing, unknown []string
	for _, role := range want {
		if len(r.Labels[role]) == 0 {
			missing = append(missing, role)
		}
	}
	for role, l := range r.Labels {
		if !contains(want, role) {
			unknown = append(unknown, role)
		}
		for _, n := range l {
			if n == "" {
				return fmt.Errorf("labels.%s: empty label name", role)
			}
		}
	}
	sort.Strings(unknown)
	if len(missing) > 0 || len(unknown) > 0 {
		return fmt.Errorf("component %s needs labels for %v; missing %v, unknown %v", r.Component, want, missing, unknown)
	}
	m := &r.Match
	if !m.Any && len(m.Names) == 0 && len(m.Prefixes) == 0 && m.Regex == "" {
		return errors.New("match needs names, prefixes, regex or any: true")
	}
	if m.Any && (len(m.Names) > 0 || len(m.Prefixes) > 0 || m.Regex != "") {
		return errors.New("match: any: true cannot be combined with names, prefixes or regex")
	}
	for _, p := range append(append([]string{}, m.Names...), m.Prefixes...) {
		if p == "" {
			return errors.New("match: empty name or prefix")
		}
	}
	if m.Regex != "" {
		re, err := regexp.Compile("^(?:" + m.Regex + ")$")
		if err != nil {
			return fmt.Errorf("match.regex: %w", err)
		}
		m.re = re
	}
	return nil
}

func (m *Match) matches(name string) bool {
	if m.Any {
		return true
	}
	for _, n := range m.Names {
		if n == name {
			return true
		}
	}
	for _, p := range m.Prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return m.re != nil && m.re.MatchString(name)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
