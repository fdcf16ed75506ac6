package clusteragent

import (
	"context"
	"fmt"

	"github.com/go-kit/log/level"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	var convert func(any) (events.Event, bool)
	switch api {
	case EventsV1:
		inf = a.factory.Events().V1().Events().Informer()
		convert = func(obj any) (events.Event, bool) {
			e, ok := obj.(*eventsv1.Event)
			if !ok {
				return events.Event{}, false
			}
			return events.FromEventsV1(e), true
		}
	case CoreV1:
		inf = a.factory.Core().V1().Events().Informer()
		convert = func(obj any) (events.Event, bool) {
			e, ok := obj.(*corev1.Event)
			if !ok {
				return events.Event{}, false
			}
			return events.FromCoreV1(e), true
		}
	default:
		return fmt.Errorf("unknown events API %q", api)
	}
	if err := inf.SetTransform(stripEvent); err != nil {
		return fmt.Errorf("transform for events: %w", err)
	}
	if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		a.metrics.listWatchErrors.WithLabelValues("events").Inc()
		level.Warn(a.logger).Log("msg", "list or watch failed, the informer retries with backoff", "resource", "events", "err", err)
	}); err != nil {
		return fmt.Errorf("watch error handler for events: %w", err)
	}
	observe := func(obj any) {
		if ev, ok := convert(obj); ok {
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
	if pod, ok := obj.(*corev1.Pod); ok {
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
}

// EventsSynced reports whether the event stream has seen its initial list
// (false when events are not watched).
func (a *Agent) EventsSynced() bool { return a.eventsSynced.Load() }

func uidOf(obj any) string {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if m, ok := obj.(metav1.Object); ok {
		return string(m.GetUID())
	}
	return ""
}

// stripEvent drops what the conversion never reads.
func stripEvent(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		m.SetAnnotations(nil)
		m.SetLabels(nil)
	}
	return obj, nil
}
