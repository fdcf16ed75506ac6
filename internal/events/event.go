package events

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"

	"github.com/kubetopo/kubetopo/topology"
)

// Object is the object an event is about (involvedObject in core/v1,
// regarding in events.k8s.io/v1).
type Object struct {
	Kind, APIVersion, Namespace, Name, UID string
	// FieldPath names a part of the object, e.g. spec.containers{app}.
	FieldPath string
}

// Event is one Kubernetes event as kubetopo delivers it: categorised and
// attached to the URN of the component it concerns.
type Event struct {
	// UID identifies the event: the Kubernetes event's UID, or for a
	// synthesised event a key derived from what it reports.
	UID     string
	Reason  string
	Type    string // Normal or Warning
	Message string
	// Count is how often it happened so far (series.count or the deprecated
	// count; 1 for a single occurrence).
	Count       int64
	First, Last time.Time
	Category    Category
	// URN is the component's; empty when the involved object is no component
	// kubetopo knows (the event is still counted and delivered).
	URN      string
	Involved Object
	// Source is what reported it: reportingController, else source.component.
	Source string
	// Owner is the object whose disappearance retires the event from the
	// checkpoint: the event itself, or for a synthesised event its pod.
	Owner string
}

// FromEventsV1 converts an events.k8s.io/v1 Event. Events written through the
// core/v1 API show up here too, with their counts and times in the
// deprecated* fields.
func FromEventsV1(e *eventsv1.Event) Event {
	ev := Event{
		UID: string(e.UID), Owner: string(e.UID), Reason: e.Reason, Type: e.Type, Message: e.Note,
		Involved: object(e.Regarding), Source: e.ReportingController, Count: 1,
	}
	if ev.Source == "" {
		ev.Source = e.DeprecatedSource.Component
	}
	var seriesLast time.Time
	if e.Series != nil {
		seriesLast = e.Series.LastObservedTime.Time
		ev.Count = max(ev.Count, int64(e.Series.Count))
	}
	ev.Count = max(ev.Count, int64(e.DeprecatedCount))
	ev.First = firstNonZero(e.DeprecatedFirstTimestamp.Time, e.EventTime.Time, e.CreationTimestamp.Time)
	ev.Last = latest(seriesLast, e.DeprecatedLastTimestamp.Time, e.EventTime.Time)
	if ev.Last.IsZero() {
		ev.Last = firstNonZero(ev.First, e.CreationTimestamp.Time)
	}
	return ev
}

// FromCoreV1 converts a core/v1 Event, for servers without events.k8s.io/v1.
func FromCoreV1(e *corev1.Event) Event {
	ev := Event{
		UID: string(e.UID), Owner: string(e.UID), Reason: e.Reason, Type: e.Type, Message: e.Message,
		Involved: object(e.InvolvedObject), Source: e.ReportingController, Count: 1,
	}
	if ev.Source == "" {
		ev.Source = e.Source.Component
	}
	var seriesLast time.Time
	if e.Series != nil {
		seriesLast = e.Series.LastObservedTime.Time
		ev.Count = max(ev.Count, int64(e.Series.Count))
	}
	ev.Count = max(ev.Count, int64(e.Count))
	ev.First = firstNonZero(e.FirstTimestamp.Time, e.EventTime.Time, e.CreationTimestamp.Time)
	ev.Last = latest(seriesLast, e.LastTimestamp.Time, e.EventTime.Time)
	if ev.Last.IsZero() {
		ev.Last = firstNonZero(ev.First, e.CreationTimestamp.Time)
	}
	return ev
}

func object(r corev1.ObjectReference) Object {
	return Object{
		Kind: r.Kind, APIVersion: r.APIVersion, Namespace: r.Namespace, Name: r.Name,
		UID: string(r.UID), FieldPath: r.FieldPath,
	}
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// Attach sets the event's category and URN.
func (e *Event) Attach(u topology.URNs, c *Categorizer) {
	e.Category = c.Category(e.Reason, e.Type)
	e.URN, _ = topology.EventURN(u, e.Involved.Kind, e.Involved.APIVersion, e.Involved.Namespace, e.Involved.Name, e.Involved.FieldPath)
}
