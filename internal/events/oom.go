package events

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Synthesised OOM events.
const (
	ReasonOOMKilled = "OOMKilled"
	// OOMSource is the source of the events kubetopo synthesises.
	OOMSource = "kubetopo-cluster-agent"
)

// OOMEvents returns a Warning event for every container of the pod whose
// current or last termination was an OOM kill, as StackState synthesises
// them. The same termination is seen first as state.terminated and, after
// the restart, as lastState.terminated: both give the same UID (pod UID,
// container, the termination's finishedAt, else its container ID, else the
// restart count), so it is one event however often the pod is seen.
func OOMEvents(pod *corev1.Pod) []Event {
	var out []Event
	add := func(field string, statuses []corev1.ContainerStatus) {
		for i := range statuses {
			cs := &statuses[i]
			seen := map[string]bool{}
			for _, term := range []*corev1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
				if term == nil || term.Reason != ReasonOOMKilled {
					continue
				}
				ev := oomEvent(pod, field, cs, term)
				if !seen[ev.UID] {
					seen[ev.UID] = true
					out = append(out, ev)
				}
			}
		}
	}
	add("spec.containers", pod.Status.ContainerStatuses)
	add("spec.initContainers", pod.Status.InitContainerStatuses)
	add("spec.ephemeralContainers", pod.Status.EphemeralContainerStatuses)
	return out
}

func oomEvent(pod *corev1.Pod, field string, cs *corev1.ContainerStatus, term *corev1.ContainerStateTerminated) Event {
	restarts := cs.RestartCount
	if term != cs.State.Terminated {
		// lastState is the termination before the current run: the restart
		// count already includes the restart that followed it.
		restarts--
	}
	var which string
	switch {
	case !term.FinishedAt.IsZero():
		which = strconv.FormatInt(term.FinishedAt.Unix(), 10)
	case term.ContainerID != "":
		which = term.ContainerID
	default:
		which = "restart-" + strconv.Itoa(int(max(restarts, 0)))
	}
	at := firstNonZero(term.FinishedAt.Time, term.StartedAt.Time, pod.CreationTimestamp.Time)
	if at.IsZero() {
		at = time.Unix(0, 0)
	}
	return Event{
		UID:    "oom/" + string(pod.UID) + "/" + cs.Name + "/" + which,
		Owner:  string(pod.UID),
		Reason: ReasonOOMKilled,
		Type:   corev1.EventTypeWarning,
		Message: fmt.Sprintf("Container %s of pod %s/%s was OOMKilled (exit code %d)",
			cs.Name, pod.Namespace, pod.Name, term.ExitCode),
		Count: 1, First: at, Last: at,
		Involved: Object{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID),
			FieldPath: field + "{" + cs.Name + "}",
		},
		Source: OOMSource,
	}
}
