// Package model is the receiver's topology: components and relations learnt
// from the cluster agents' info series (kubetopo_component_info,
// kubetopo_component_labels, kubetopo_relation_info), for any number of
// clusters. A Graph is an immutable snapshot, built by a Builder from series;
// a Store follows a live stream of series (appearing, refreshed, going stale)
// and hands out snapshots cheaply. The same Builder builds the graph of a past
// instant from a TSDB query (see internal/topoapi).
package model

import (
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// Metric names of the topology contract (docs/metrics.md).
const (
	ComponentInfo   = "kubetopo_component_info"
	ComponentLabels = "kubetopo_component_labels"
	RelationInfo    = "kubetopo_relation_info"
)

// Component is one node of the graph.
type Component struct {
	URN       string            `json:"urn"`
	Cluster   string            `json:"cluster"`
	Type      string            `json:"type"`
	Namespace string            `json:"namespace,omitempty"`
	Name      string            `json:"name"`
	UID       string            `json:"uid,omitempty"`
	Identity  map[string]string `json:"identity,omitempty"` // KSM identity labels: pod="…", job_name="…"
	Labels    map[string]string `json:"labels,omitempty"`   // sanitised Kubernetes labels, without "label_"
}

// Relation is one directed edge: Source depends on Target (StackState's
// reading of every Kubernetes relation type, see docs/receiver-topology.md).
type Relation struct {
	Cluster    string            `json:"cluster"`
	Type       string            `json:"type"`
	Source     string            `json:"source_urn"`
	SourceType string            `json:"source_type"`
	Target     string            `json:"target_urn"`
	TargetType string            `json:"target_type"`
	Attrs      map[string]string `json:"attrs,omitempty"` // mount_path, read_only
}

// Graph is an immutable topology snapshot. Its methods are safe for
// concurrent use; callers must not modify what they return.
type Graph struct {
	comps   map[string]*Component
	out     map[string][]*Relation
	in      map[string][]*Relation
	ordered []*Component // by cluster, type, namespace, name, URN
	nrels   int
}

// Component returns the component with the URN, or nil.
func (g *Graph) Component(urn string) *Component {
	if g == nil {
		return nil
	}
	return g.comps[urn]
}

// Has reports whether the URN is a component.
func (g *Graph) Has(urn string) bool { return g.Component(urn) != nil }

// Components returns every component in a stable order.
func (g *Graph) Components() []*Component {
	if g == nil {
		return nil
	}
	return g.ordered
}

// Out returns the relations whose source is urn (what it depends on).
func (g *Graph) Out(urn string) []*Relation {
	if g == nil {
		return nil
	}
	return g.out[urn]
}

// In returns the relations whose target is urn (what depends on it).
func (g *Graph) In(urn string) []*Relation {
	if g == nil {
		return nil
	}
	return g.in[urn]
}

// Len returns the number of components and relations.
func (g *Graph) Len() (components, relations int) {
	if g == nil {
		return 0, 0
	}
	return len(g.comps), g.nrels
}

// Relations returns every relation, sorted.
func (g *Graph) Relations() []*Relation {
	if g == nil {
		return nil
	}
	out := make([]*Relation, 0, g.nrels)
	for _, c := range g.ordered {
		out = append(out, g.out[c.URN]...)
	}
	return out
}

// Builder collects series into a Graph. Later calls for the same component
// overwrite earlier ones field by field; a relation whose ends are not both
// components when Graph is called is left out (the contract promises none,
// but a stale end can lag behind).
type Builder struct {
	comps  map[string]*Component
	labels map[string]map[string]string
	rels   map[string]*Relation
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{comps: map[string]*Component{}, labels: map[string]map[string]string{}, rels: map[string]*Relation{}}
}

// Add adds one topology series (its labels are copied); other metric names are ignored and false is
// returned.
func (b *Builder) Add(metric string, s labels.Labels) bool {
	switch metric {
	case ComponentInfo:
		c := ComponentFromSeries(s)
		if c.URN == "" {
			return false
		}
		b.comps[c.URN] = c
	case ComponentLabels:
		urn := s.Get("urn")
		if urn == "" {
			return false
		}
		b.labels[urn] = LabelsFromSeries(s)
	case RelationInfo:
		r := RelationFromSeries(s)
		if r.Source == "" || r.Target == "" {
			return false
		}
		b.rels[r.Key()] = r
	default:
		return false
	}
	return true
}

// AddComponent, AddLabels and AddRelation add already-decoded parts.
func (b *Builder) AddComponent(c *Component)                    { b.comps[c.URN] = c }
func (b *Builder) AddLabels(urn string, lbls map[string]string) { b.labels[urn] = lbls }
func (b *Builder) AddRelation(r *Relation)                      { b.rels[r.Key()] = r }

// Graph returns the snapshot of what was added.
func (b *Builder) Graph() *Graph {
	g := &Graph{comps: make(map[string]*Component, len(b.comps)), out: map[string][]*Relation{}, in: map[string][]*Relation{}}
	for urn, c := range b.comps {
		cc := *c
		if l, ok := b.labels[urn]; ok {
			cc.Labels = l
		}
		g.comps[urn] = &cc
		g.ordered = append(g.ordered, &cc)
	}
	sort.Slice(g.ordered, func(i, j int) bool { return lessComponent(g.ordered[i], g.ordered[j]) })
	keys := make([]string, 0, len(b.rels))
	for k, r := range b.rels {
		if g.comps[r.Source] != nil && g.comps[r.Target] != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := b.rels[k]
		g.out[r.Source] = append(g.out[r.Source], r)
		g.in[r.Target] = append(g.in[r.Target], r)
	}
	g.nrels = len(keys)
	return g
}

func lessComponent(a, b *Component) bool {
	if a.Cluster != b.Cluster {
		return a.Cluster < b.Cluster
	}
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.URN < b.URN
}

// Key identifies a relation: its type, ends and attributes.
func (r *Relation) Key() string {
	var sb strings.Builder
	sb.WriteString(r.Type)
	sb.WriteByte(0)
	sb.WriteString(r.Source)
	sb.WriteByte(0)
	sb.WriteString(r.Target)
	if len(r.Attrs) > 0 {
		ks := make([]string, 0, len(r.Attrs))
		for k := range r.Attrs {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			sb.WriteByte(0)
			sb.WriteString(k + "=" + r.Attrs[k])
		}
	}
	return sb.String()
}

// Labels of component_info that are not identity labels.
var infoFixed = map[string]bool{
	"__name__": true, "cluster": true, "urn": true, "type": true, "namespace": true, "name": true, "uid": true,
	// Labels a scraping Prometheus adds.
	"job": true, "instance": true, "prometheus": true, "prometheus_replica": true, "receive": true, "tenant_id": true,
}

// ComponentFromSeries decodes a kubetopo_component_info series.
func ComponentFromSeries(s labels.Labels) *Component {
	c := &Component{
		URN: strings.Clone(s.Get("urn")), Cluster: strings.Clone(s.Get("cluster")), Type: strings.Clone(s.Get("type")),
		Namespace: strings.Clone(s.Get("namespace")), Name: strings.Clone(s.Get("name")), UID: strings.Clone(s.Get("uid")),
	}
	s.Range(func(l labels.Label) {
		n, v := l.Name, l.Value
		if infoFixed[n] || v == "" {
			return
		}
		if c.Identity == nil {
			c.Identity = map[string]string{}
		}
		c.Identity[strings.Clone(n)] = strings.Clone(v)
	})
	return c
}

// LabelsFromSeries decodes a kubetopo_component_labels series: label_x="v"
// becomes x="v".
func LabelsFromSeries(s labels.Labels) map[string]string {
	m := map[string]string{}
	s.Range(func(l labels.Label) {
		n, v := l.Name, l.Value
		if k, ok := strings.CutPrefix(n, "label_"); ok && v != "" {
			m[strings.Clone(k)] = strings.Clone(v)
		}
	})
	return m
}

var relFixed = map[string]bool{
	"__name__": true, "cluster": true, "type": true, "source_urn": true, "target_urn": true,
	"source_type": true, "target_type": true, "job": true, "instance": true, "prometheus": true, "prometheus_replica": true,
	"receive": true, "tenant_id": true,
}

// RelationFromSeries decodes a kubetopo_relation_info series.
func RelationFromSeries(s labels.Labels) *Relation {
	r := &Relation{
		Cluster: strings.Clone(s.Get("cluster")), Type: strings.Clone(s.Get("type")),
		Source: strings.Clone(s.Get("source_urn")), SourceType: strings.Clone(s.Get("source_type")),
		Target: strings.Clone(s.Get("target_urn")), TargetType: strings.Clone(s.Get("target_type")),
	}
	s.Range(func(l labels.Label) {
		n, v := l.Name, l.Value
		if relFixed[n] || v == "" {
			return
		}
		if r.Attrs == nil {
			r.Attrs = map[string]string{}
		}
		r.Attrs[strings.Clone(n)] = strings.Clone(v)
	})
	return r
}
