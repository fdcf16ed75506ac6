// Package topoapi is the receiver's topology API (JSON over HTTP, reference
// in docs/receiver-topology.md): components filtered by cluster, type,
// namespace, label, health state and StackState's four Kubernetes views; one
// component with its relations, health and the checks behind it, telemetry
// streams and recent events; the six component actions; each of them now or
// at a past time (time=). Authentication is the caller's: Options.Auth wraps
// every route (the receiver reuses its write path's API key check).
package topoapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kubetopo/kubetopo/internal/health"
	"github.com/kubetopo/kubetopo/internal/model"
	"github.com/kubetopo/kubetopo/internal/receiver"
)

// Source gives the views the API answers from.
type Source interface {
	Now() *receiver.View
	At(ctx context.Context, t time.Time) (*receiver.View, error)
}

// Options configure the API.
type Options struct {
	Source Source // required
	// Auth wraps every route; nil means no authentication.
	Auth   func(http.Handler) http.Handler
	Logger log.Logger
	// MaxEvents is how many events a component answer lists (0: 20).
	MaxEvents int
}

// Prefix is where the API is mounted.
const Prefix = "/api/v1/components"

// MaxDepth is the deepest "Show dependencies" goes, as in StackState.
const MaxDepth = 6

// API serves the routes.
type API struct {
	o Options
}

// New returns the API.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 20
	}
	return &API{o: o}
}

// Routes returns the handlers to mount, by pattern (for server.Options.Extra).
func (a *API) Routes() map[string]http.Handler {
	var h http.Handler = http.HandlerFunc(a.serve)
	if a.o.Auth != nil {
		h = a.o.Auth(h)
	}
	return map[string]http.Handler{Prefix: h, Prefix + "/": h}
}

type apiError struct {
	status int
	typ    string
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }

func badData(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "bad_data", fmt.Errorf(format, args...)}
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		a.fail(w, &apiError{http.StatusMethodNotAllowed, "method_not_allowed", fmt.Errorf("%s not allowed", r.Method)})
		return
	}
	data, err := a.route(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data})
}

// fail maps errors to statuses in one place.
func (a *API) fail(w http.ResponseWriter, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, receiver.ErrNoDownstream):
		ae = &apiError{http.StatusServiceUnavailable, "unavailable", err}
	default:
		ae = &apiError{http.StatusBadGateway, "downstream", err}
		level.Warn(a.o.Logger).Log("msg", "topology API: downstream query failed", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": ae.typ, "error": ae.err.Error()})
}

func (a *API) route(r *http.Request) (any, error) {
	q := r.URL.Query()
	rest := strings.TrimPrefix(r.URL.EscapedPath(), Prefix)
	if rest == "" || rest == "/" {
		return a.view(r.Context(), q, a.list)
	}
	rest = strings.TrimPrefix(rest, "/")
	// {urn}/actions/{action}; the URN may be escaped (%2F) or not.
	urnPart, action := rest, ""
	if i := strings.LastIndex(rest, "/actions/"); i >= 0 && findAction(rest[i+len("/actions/"):]) != nil {
		urnPart, action = rest[:i], rest[i+len("/actions/"):]
	}
	urn, err := url.PathUnescape(urnPart)
	if err != nil {
		return nil, badData("component URN %q: %v", urnPart, err)
	}
	if action == "" {
		return a.view(r.Context(), q, func(v *receiver.View, q url.Values) (any, error) { return a.component(v, urn) })
	}
	return a.view(r.Context(), q, func(v *receiver.View, q url.Values) (any, error) { return a.action(v, q, urn, findAction(action)) })
}

// view resolves time= and runs f on the view of that instant.
func (a *API) view(ctx context.Context, q url.Values, f func(*receiver.View, url.Values) (any, error)) (any, error) {
	v := a.o.Source.Now()
	if ts := q.Get("time"); ts != "" {
		t, err := parseTime(ts)
		if err != nil {
			return nil, badData("time: %v", err)
		}
		if v, err = a.o.Source.At(ctx, t); err != nil {
			return nil, err
		}
	}
	return f(v, q)
}

// parseTime accepts RFC 3339 and unix seconds (with a fraction), like the
// Prometheus API.
func parseTime(s string) (time.Time, error) {
	// Seconds and fraction apart, so that 1796119140.677 is exactly .677 s.
	secs, frac, hasFrac := strings.Cut(s, ".")
	if sec, err := strconv.ParseInt(secs, 10, 64); err == nil && (!hasFrac || isDigits(frac)) {
		frac = (frac + "000000000")[:9]
		ns, _ := strconv.ParseInt(frac, 10, 64)
		return time.Unix(sec, ns).UTC(), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		sec, fr := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(fr*1e9))).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor unix seconds", s)
	}
	return t, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Summary is a component in a list.
type Summary struct {
	URN       string            `json:"urn"`
	Type      string            `json:"type"`
	Cluster   string            `json:"cluster"`
	Namespace string            `json:"namespace,omitempty"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	State     health.State      `json:"health_state"`
}

func summary(v *receiver.View, c *model.Component) Summary {
	return Summary{URN: c.URN, Type: c.Type, Cluster: c.Cluster, Namespace: c.Namespace, Name: c.Name, Labels: c.Labels, State: v.Health.Get(c.URN).State}
}

type meta struct {
	Time time.Time `json:"time"`
	Live bool      `json:"live"`
}

func metaOf(v *receiver.View) meta { return meta{Time: v.Time.UTC(), Live: v.Live} }

func (a *API) list(v *receiver.View, q url.Values) (any, error) {
	var types []string
	if name := q.Get("view"); name != "" {
		var ok bool
		if types, ok = Views[name]; !ok {
			return nil, badData("view %q: one of %s", name, viewNames())
		}
	}
	wantTypes := q["type"]
	var lbls [][2]string
	for _, l := range q["label"] {
		k, val, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, badData("label %q: want key=value", l)
		}
		lbls = append(lbls, [2]string{k, val})
	}
	var state *health.State
	if s := q.Get("state"); s != "" {
		st, err := health.ParseState(s)
		if err != nil {
			return nil, badData("state: %v", err)
		}
		state = &st
	}
	out := []Summary{}
	for _, c := range v.Graph.Components() {
		if (q.Has("cluster") && c.Cluster != q.Get("cluster")) ||
			(q.Has("namespace") && c.Namespace != q.Get("namespace")) ||
			(types != nil && !contains(types, c.Type)) ||
			(len(wantTypes) > 0 && !contains(wantTypes, c.Type)) {
			continue
		}
		match := true
		for _, l := range lbls {
			if got, ok := c.Labels[l[0]]; !ok || got != l[1] {
				match = false
			}
		}
		if !match {
			continue
		}
		s := summary(v, c)
		if state != nil && s.State != *state {
			continue
		}
		out = append(out, s)
	}
	return struct {
		meta
		Components []Summary `json:"components"`
	}{metaOf(v), out}, nil
}

// Detail is one component with everything known about it.
type Detail struct {
	meta
	Component *model.Component  `json:"component"`
	Health    *health.Component `json:"health"`
	Relations struct {
		Out []*model.Relation `json:"out"`
		In  []*model.Relation `json:"in"`
	} `json:"relations"`
	Streams []receiver.Stream `json:"streams"`
	Events  []receiver.Event  `json:"events"`
	Actions []string          `json:"actions"`
}

func notFound(v *receiver.View, urn string) error {
	when := "now"
	if !v.Live {
		when = "at " + v.Time.UTC().Format(time.RFC3339)
	}
	return &apiError{http.StatusNotFound, "not_found", fmt.Errorf("no component %q %s", urn, when)}
}

func (a *API) component(v *receiver.View, urn string) (any, error) {
	c := v.Graph.Component(urn)
	if c == nil {
		return nil, notFound(v, urn)
	}
	d := Detail{meta: metaOf(v), Component: c, Health: v.Health.Get(urn), Streams: v.Streams(urn), Events: v.Events(urn, a.o.MaxEvents), Actions: actionsFor(c.Type)}
	d.Relations.Out = nonNil(v.Graph.Out(urn))
	d.Relations.In = nonNil(v.Graph.In(urn))
	if d.Streams == nil {
		d.Streams = []receiver.Stream{}
	}
	if d.Events == nil {
		d.Events = []receiver.Event{}
	}
	if d.Actions == nil {
		d.Actions = []string{}
	}
	return d, nil
}

func nonNil(r []*model.Relation) []*model.Relation {
	if r == nil {
		return []*model.Relation{}
	}
	return r
}

// ActionResult is a component action's answer.
type ActionResult struct {
	meta
	Action     string            `json:"action"`
	Title      string            `json:"title"`
	URN        string            `json:"urn"`
	Components []Summary         `json:"components"`
	Relations  []*model.Relation `json:"relations"`
}

func (a *API) action(v *receiver.View, q url.Values, urn string, act *Action) (any, error) {
	c := v.Graph.Component(urn)
	if c == nil {
		return nil, notFound(v, urn)
	}
	if err := checkAction(act, c); err != nil {
		return nil, &apiError{http.StatusBadRequest, "bad_data", err}
	}
	p := actionParams{depth: MaxDepth, direction: "down"}
	if d := q.Get("depth"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > MaxDepth {
			return nil, badData("depth %q: an integer from 1 to %d", d, MaxDepth)
		}
		p.depth = n
	}
	if d := q.Get("direction"); d != "" {
		if d != "down" && d != "up" && d != "both" {
			return nil, badData("direction %q: down, up or both", d)
		}
		p.direction = d
	}
	cs, rs := act.run(v.Graph, c, p).sorted(v.Graph)
	res := ActionResult{meta: metaOf(v), Action: act.Name, Title: act.Title, URN: urn, Components: []Summary{}, Relations: nonNil(rs)}
	for _, x := range cs {
		res.Components = append(res.Components, summary(v, x))
	}
	return res, nil
}
