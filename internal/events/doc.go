// Package events turns Kubernetes events into kubetopo events: converted from
// events.k8s.io/v1 or core/v1, attached to the URN of the component they
// concern (the container's when the field path names one), given one of the
// four categories (Activities, Alerts, Changes, Others) by the user's
// override file, then the seed's table, then the event type; plus events it
// synthesises itself (a container OOMKilled). A Pipeline counts them
// (kubetopo_events_total) and delivers each new occurrence once, keeping a
// checkpoint of what the receiver acknowledged so a restart neither repeats
// nor loses them.
package events
