package clusteragent

import (
	"context"
	"fmt"
	"unique"

	"github.com/go-kit/log/level"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/cache"

	"github.com/kubetopo/kubetopo/internal/events"
)

// EventsAPI is the API the agent watches events through.
type EventsAPI string

// The two event APIs; events.k8s.io/v1 is preferred, core/v1 is the fallback
// for servers that do not serve it.
const (
	EventsV1 EventsAPI = "events.k8s.io/v1"
	CoreV1   EventsAPI = "v1"
)

// DiscoverEventsAPI returns events.k8s.io/v1 when the server serves its events
// resource, else core/v1.
func DiscoverEventsAPI(d discovery.DiscoveryInterface) EventsAPI {
	list, err := d.ServerResourcesForGroupVersion(string(EventsV1))
	if err != nil || list == nil {
		return CoreV1
	}
	for _, r := range list.APIResources {
		if r.Name == "events" {
			return EventsV1
		}
	}
	return CoreV1
}

// eventsWatch is the event stream's part of the agent.
type eventsWatch struct {
	pipeline *events.Pipeline
	api      EventsAPI
	synced   []func() bool // handler registrations, per source
	sources  []string
}

// watchEvents creates the Event informer on the agent's factory (started by
// Run) and feeds pods' container statuses to the OOM synthesis through the
// existing pod informer: nothing else is watched.
func (a *Agent) watchEvents(p *events.Pipeline, api EventsAPI) error {
	if api == "" {
		api = DiscoverEventsAPI(a.client.Discovery())
	}
	ew := &eventsWatch{pipeline: p, api: api}
	var inf cache.SharedIndexInformer
	switch api {
	case EventsV1:
		inf = a.factory.Events().V1().Events().Informer()
	case CoreV1:
		inf = a.factory.Core().V1().Events().Informer()
	default:
		return fmt.Errorf("unknown events API %q", api)
	}
	// Without delivery, nothing reads an event's message: it is not cached.
	if err := inf.SetTransform(eventTransform{dropMessage: !p.Delivers()}.strip); err != nil {
		return fmt.Errorf("transform for events: %w", err)
	}
	if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		a.metrics.listWatchErrors.WithLabelValues("events").Inc()
		level.Warn(a.logger).Log("msg", "list or watch failed, the informer retries with backoff", "resource", "events", "err", err)
	}); err != nil {
		return fmt.Errorf("watch error handler for events: %w", err)
	}
	observe := func(obj any) {
		if ev, ok := convertEvent(obj); ok {
			p.Observe(events.SrcEvents, ev)
		}
	}
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj any) { observe(obj) },
		DeleteFunc: func(obj any) {
			if uid := uidOf(obj); uid != "" {
				p.Forget(events.SrcEvents, uid)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("event handler for events: %w", err)
	}
	ew.synced, ew.sources = append(ew.synced, reg.HasSynced), append(ew.sources, events.SrcEvents)

	for _, w := range a.kinds {
		if w.kind.Resource != "pods" {
			continue
		}
		reg, err := w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { observePod(p, obj) },
			UpdateFunc: func(_, obj any) { observePod(p, obj) },
			DeleteFunc: func(obj any) {
				if uid := uidOf(obj); uid != "" {
					p.Forget(events.SrcOOM, uid)
				}
			},
		})
		if err != nil {
			return fmt.Errorf("OOM handler for pods: %w", err)
		}
		ew.synced, ew.sources = append(ew.synced, reg.HasSynced), append(ew.sources, events.SrcOOM)
	}
	a.events = ew
	level.Info(a.logger).Log("msg", "watching events", "api", api, "oom_synthesis", len(ew.sources) > 1)
	return nil
}

func observePod(p *events.Pipeline, obj any) {
	if pod, ok := asPod(obj); ok {
		p.ObservePod(pod)
	}
}

// waitEventsSync tells the pipeline when each source has delivered its
// initial list, so it can drop checkpoint entries of what is gone.
func (a *Agent) waitEventsSync(ctx context.Context) {
	if a.events == nil {
		return
	}
	for i, synced := range a.events.synced {
		if !cache.WaitForCacheSync(ctx.Done(), synced) {
			return
		}
		a.events.pipeline.SyncDone(a.events.sources[i])
	}
	a.eventsSynced.Store(true)
	level.Info(a.logger).Log("msg", "event informer synced", "api", a.events.api)
	a.releaseListMemory()
}

// EventsSynced reports whether the event stream has seen its initial list
// (false when events are not watched).
func (a *Agent) EventsSynced() bool { return a.eventsSynced.Load() }

func uidOf(obj any) string {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	switch o := obj.(type) {
	case *cachedEvent:
		return o.ev.UID
	case metav1.Object:
		return string(o.GetUID())
	}
	return ""
}

// convertEvent returns the event the informer cached (converted by
// stripEvent).
func convertEvent(obj any) (events.Event, bool) {
	if _, ok := obj.(*cachedEvent); !ok {
		obj, _ = stripEvent(obj) // not transformed: should not happen
	}
	if c, ok := obj.(*cachedEvent); ok {
		return c.ev, true
	}
	return events.Event{}, false
}

// cachedEvent is what the events informer caches of an Event: its key and
// resource version, for the informer, and its conversion, for the pipeline.
// The decoded Event (600 bytes of struct alone, plus managed fields, related
// object and reporting instance) becomes garbage at once.
type cachedEvent struct {
	namespace, name, resourceVersion string
	ev                               events.Event
}

// GetObjectMeta lets client-go key and compare cached events (meta.Accessor).
func (c *cachedEvent) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: c.namespace, Name: c.name, UID: types.UID(c.ev.UID), ResourceVersion: c.resourceVersion}
}

// GetObjectKind and DeepCopyObject make it a runtime.Object for what in
// client-go asks for one.
func (c *cachedEvent) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (c *cachedEvent) DeepCopyObject() runtime.Object {
	cp := *c
	return &cp
}

// stripEvent is the events informer's transform: it replaces a decoded Event
// by its conversion (events.FromEventsV1, events.FromCoreV1) and what the
// informer reads. Strings repeated across events (reasons, types, kinds,
// namespaces, sources, field paths) are interned. It is idempotent, as a
// transform must be.
func stripEvent(obj any) (any, error) { return eventTransform{}.strip(obj) }

// eventTransform is stripEvent, optionally without the message (when the
// pipeline delivers nothing, only counts).
type eventTransform struct{ dropMessage bool }

func (t eventTransform) strip(obj any) (any, error) {
	var m *metav1.ObjectMeta
	var ev events.Event
	switch e := obj.(type) {
	case *eventsv1.Event:
		m, ev = &e.ObjectMeta, events.FromEventsV1(e)
	case *corev1.Event:
		m, ev = &e.ObjectMeta, events.FromCoreV1(e)
	case *cachedEvent:
		if t.dropMessage && e.ev.Message != "" {
			c := *e
			c.ev.Message = ""
			return &c, nil
		}
		return e, nil
	default:
		return obj, nil
	}
	if t.dropMessage {
		ev.Message = ""
	}
	ev.Reason, ev.Type, ev.Source = intern(ev.Reason), intern(ev.Type), intern(ev.Source)
	o := &ev.Involved
	o.Kind, o.APIVersion, o.Namespace, o.FieldPath = intern(o.Kind), intern(o.APIVersion), intern(o.Namespace), intern(o.FieldPath)
	return &cachedEvent{namespace: intern(m.Namespace), name: m.Name, resourceVersion: m.ResourceVersion, ev: ev}, nil
}

// intern returns the canonical copy of s (weakly held: unused copies go).
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}
