package topoapi

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubetopo/kubetopo/internal/model"
	"github.com/kubetopo/kubetopo/topology"
)

// Action is one of StackState's Kubernetes component actions.
type Action struct {
	Name  string   // URL segment
	Title string   // StackState's name
	Types []string // component types it is offered for
	run   func(g *model.Graph, c *model.Component, p actionParams) subgraph
}

type actionParams struct {
	depth     int
	direction string // down, up, both
}

var workloadTypes = []string{topology.TypeDeployment, topology.TypeReplicaSet, topology.TypeStatefulSet, topology.TypeDaemonSet, topology.TypeJob, topology.TypeCronJob}

// Actions are the six component actions of the Kubernetes StackPack.
var Actions = []Action{
	{Name: "dependencies", Title: "Show dependencies (deep)", Types: append([]string{topology.TypePod}, workloadTypes...), run: dependencies},
	{Name: "pods", Title: "Show pods", Types: workloadTypes, run: pods},
	{Name: "configuration-and-storage", Title: "Show configuration and storage", Types: []string{topology.TypePod, topology.TypeContainer}, run: configAndStorage},
	{Name: "pods-and-services", Title: "Show pods & services", Types: []string{topology.TypeNamespace}, run: inNamespace(topology.TypePod, topology.TypeService, topology.TypeExternalService)},
	{Name: "services", Title: "Show services", Types: []string{topology.TypeNamespace}, run: services},
	{Name: "workloads", Title: "Show workloads", Types: []string{topology.TypeNamespace}, run: inNamespace(workloadTypes...)},
}

func findAction(name string) *Action {
	for i := range Actions {
		if Actions[i].Name == name {
			return &Actions[i]
		}
	}
	return nil
}

// actionsFor lists the actions offered for a component type.
func actionsFor(typ string) []string {
	var out []string
	for _, a := range Actions {
		if contains(a.Types, typ) {
			out = append(out, a.Name)
		}
	}
	return out
}

// subgraph is an action's answer: components and the relations among them.
type subgraph struct {
	comps map[string]bool
	rels  map[*model.Relation]bool
}

func newSubgraph(urns ...string) subgraph {
	s := subgraph{comps: map[string]bool{}, rels: map[*model.Relation]bool{}}
	for _, u := range urns {
		s.comps[u] = true
	}
	return s
}

// closeRelations adds every relation of g between two components of s.
func (s subgraph) closeRelations(g *model.Graph) {
	for u := range s.comps {
		for _, r := range g.Out(u) {
			if s.comps[r.Target] {
				s.rels[r] = true
			}
		}
	}
}

func (s subgraph) sorted(g *model.Graph) ([]*model.Component, []*model.Relation) {
	var cs []*model.Component
	for _, c := range g.Components() { // already in a stable order
		if s.comps[c.URN] {
			cs = append(cs, c)
		}
	}
	rs := make([]*model.Relation, 0, len(s.rels))
	for r := range s.rels {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Key() < rs[j].Key() })
	return cs, rs
}

// dependencies: everything the component depends on (relations followed
// source → target), up to depth levels; direction up follows them backwards
// (what depends on it), both does both.
func dependencies(g *model.Graph, c *model.Component, p actionParams) subgraph {
	s := newSubgraph(c.URN)
	frontier := []string{c.URN}
	for level := 0; level < p.depth && len(frontier) > 0; level++ {
		var next []string
		for _, u := range frontier {
			if p.direction != "up" {
				for _, r := range g.Out(u) {
					s.rels[r] = true
					if !s.comps[r.Target] {
						s.comps[r.Target] = true
						next = append(next, r.Target)
					}
				}
			}
			if p.direction != "down" {
				for _, r := range g.In(u) {
					s.rels[r] = true
					if !s.comps[r.Source] {
						s.comps[r.Source] = true
						next = append(next, r.Source)
					}
				}
			}
		}
		frontier = next
	}
	return s
}

// pods: the pods a workload controls, through ReplicaSets (Deployment) and
// Jobs (CronJob), with the controllers on the way.
func pods(g *model.Graph, c *model.Component, _ actionParams) subgraph {
	s := newSubgraph(c.URN)
	frontier := []string{c.URN}
	for len(frontier) > 0 {
		var next []string
		for _, u := range frontier {
			for _, r := range g.Out(u) {
				if (r.Type != topology.RelControls && r.Type != topology.RelCreates) || s.comps[r.Target] {
					continue
				}
				s.rels[r] = true
				s.comps[r.Target] = true
				if r.TargetType != topology.TypePod {
					next = append(next, r.Target)
				}
			}
		}
		frontier = next
	}
	return s
}

// configAndStorage: a pod or container with its containers, ConfigMaps,
// Secrets, volumes and claims, and the storage behind the claims.
func configAndStorage(g *model.Graph, c *model.Component, _ actionParams) subgraph {
	follow := map[string]bool{
		topology.RelUses: true, topology.RelUsesValue: true, topology.RelClaims: true, topology.RelMounts: true,
		topology.RelProjects: true, topology.RelExposes: true, topology.RelEncloses: true,
	}
	keep := map[string]bool{
		topology.TypeContainer: true, topology.TypeConfigMap: true, topology.TypeSecret: true, topology.TypeVolume: true,
		topology.TypeVolumeSource: true, topology.TypePersistentVolumeClaim: true, topology.TypePersistentVolume: true,
	}
	s := newSubgraph(c.URN)
	frontier := []string{c.URN}
	for len(frontier) > 0 {
		var next []string
		for _, u := range frontier {
			for _, r := range g.Out(u) {
				t := g.Component(r.Target)
				if !follow[r.Type] || t == nil || !keep[t.Type] || s.comps[r.Target] {
					continue
				}
				s.rels[r] = true
				s.comps[r.Target] = true
				next = append(next, r.Target)
			}
		}
		frontier = next
	}
	s.closeRelations(g)
	return s
}

// inNamespace: the components of the given types in a namespace (of the
// namespace's cluster), with the relations among them.
func inNamespace(types ...string) func(g *model.Graph, c *model.Component, _ actionParams) subgraph {
	return func(g *model.Graph, c *model.Component, _ actionParams) subgraph {
		s := newSubgraph()
		for _, x := range g.Components() {
			if x.Cluster == c.Cluster && x.Namespace == c.Name && contains(types, x.Type) {
				s.comps[x.URN] = true
			}
		}
		s.closeRelations(g)
		return s
	}
}

// services: a namespace's Services and Ingresses, and the endpoints (load
// balancer addresses) that route to those Ingresses.
func services(g *model.Graph, c *model.Component, p actionParams) subgraph {
	s := inNamespace(topology.TypeService, topology.TypeExternalService, topology.TypeIngress)(g, c, p)
	for u := range s.comps {
		for _, r := range g.In(u) {
			if r.Type == topology.RelRoutes && r.SourceType == topology.TypeEndpoint {
				s.comps[r.Source] = true
			}
		}
	}
	s.closeRelations(g)
	return s
}

// Views are the four per-cluster Kubernetes views, by component type.
var Views = map[string][]string{
	"applications": {topology.TypePod, topology.TypeContainer, topology.TypeService, topology.TypeExternalService,
		topology.TypeIngress, topology.TypeEndpoint},
	"infrastructure":       {topology.TypeCluster, topology.TypeNode, topology.TypePersistentVolume, topology.TypeVolumeSource, "process"},
	"namespaces":           {topology.TypeNamespace},
	"workload-controllers": workloadTypes,
}

func viewNames() string {
	var n []string
	for k := range Views {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func checkAction(a *Action, c *model.Component) error {
	if !contains(a.Types, c.Type) {
		return fmt.Errorf("action %q (%s) is offered for %s, not for a %s", a.Name, a.Title, strings.Join(a.Types, ", "), c.Type)
	}
	return nil
}
