// Package health computes StackState's health states — CLEAR, DEVIATING,
// CRITICAL, UNKNOWN — for topology components: each component's own state
// from checks over the latest values of its mapped kube-state-metrics series
// (desired vs ready, pod readiness and phase, container waiting reasons, node
// conditions), and the propagated state: the worst state among everything it
// depends on, transitively, along the topology's relations (a relation's
// source depends on its target). docs/receiver-topology.md § Health is the
// reference.
package health

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kubetopo/kubetopo/internal/model"
)

// State is a health state; a larger value is worse, UNKNOWN is the least.
type State int

// The states, from least to worst.
const (
	Unknown State = iota
	Clear
	Deviating
	Critical
)

// States lists every state, for exporting one series each.
var States = []State{Clear, Deviating, Critical, Unknown}

func (s State) String() string {
	switch s {
	case Clear:
		return "CLEAR"
	case Deviating:
		return "DEVIATING"
	case Critical:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// MarshalJSON writes the state's name.
func (s State) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a state's name.
func (s *State) UnmarshalJSON(b []byte) error {
	var n string
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	p, err := ParseState(n)
	*s = p
	return err
}

// ParseState parses a state's name.
func ParseState(n string) (State, error) {
	for _, s := range States {
		if strings.EqualFold(n, s.String()) {
			return s, nil
		}
	}
	return Unknown, fmt.Errorf("unknown health state %q", n)
}

// Sample is the latest value of one series mapped to a component.
type Sample struct {
	Metric string
	Labels map[string]string // without __name__
	Value  float64
}

// Inputs are the samples of each component, by URN.
type Inputs map[string][]Sample

// Check is one check's verdict on a component.
type Check struct {
	Name   string `json:"name"`
	State  State  `json:"state"`
	Reason string `json:"reason"`
}

// Component is a component's health.
type Component struct {
	// State is what StackState colours the component with: the worse of
	// Own and Propagated.
	State      State   `json:"state"`
	Own        State   `json:"own_state"`
	Propagated State   `json:"propagated_state"`
	Checks     []Check `json:"checks,omitempty"`
	// Cause is the dependency the propagated state came from (when it is
	// worse than CLEAR and not the component's own doing).
	Cause string `json:"propagated_from,omitempty"`
}

// Result is the health of every component of a graph.
type Result map[string]*Component

// Get returns a component's health; an UNKNOWN one when it has none.
func (r Result) Get(urn string) *Component {
	if c, ok := r[urn]; ok {
		return c
	}
	return &Component{}
}

// Evaluate runs the checks of every component of g over in, then propagates.
func Evaluate(g *model.Graph, in Inputs) Result {
	res := make(Result, len(g.Components()))
	for _, c := range g.Components() {
		h := &Component{Checks: checks(c.Type, in[c.URN])}
		for _, ch := range h.Checks {
			if ch.State > h.Own {
				h.Own = ch.State
			}
		}
		res[c.URN] = h
	}
	propagate(g, res)
	for _, h := range res {
		h.State = max(h.Own, h.Propagated)
	}
	return res
}

// propagate gives every component the worst state among what it depends on,
// transitively: a breadth-first walk against the relations' direction from
// every component of a state, worst state first, so each component is
// raised at most once per state.
func propagate(g *model.Graph, res Result) {
	for _, level := range []State{Critical, Deviating, Clear} {
		var queue []string
		for _, c := range g.Components() {
			if res[c.URN].Own == level {
				queue = append(queue, c.URN)
			}
		}
		for len(queue) > 0 {
			urn := queue[0]
			queue = queue[1:]
			for _, r := range g.In(urn) {
				dep := res[r.Source]
				if dep == nil || dep.Propagated >= level {
					continue
				}
				dep.Propagated = level
				if level > Clear {
					dep.Cause = urn
				}
				if dep.Own < level { // else it was (or will be) a root of this level itself
					queue = append(queue, r.Source)
				}
			}
		}
	}
}
