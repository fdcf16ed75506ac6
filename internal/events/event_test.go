package events

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubetopo/kubetopo/topology"
)

var (
	t0 = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	t1 = t0.Add(90 * time.Second)
)

func TestFromEventsV1(t *testing.T) {
	ref := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "shop", Name: "cart-1", UID: "pod-uid", FieldPath: "spec.containers{app}"}
	tests := []struct {
		name string
		in   eventsv1.Event
		want Event
	}{
		{
			name: "written through core/v1 (deprecated fields)",
			in: eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{UID: "e1", CreationTimestamp: metav1.NewTime(t0)},
				Reason:     "BackOff", Type: "Normal", Note: "Back-off pulling image", Regarding: ref,
				DeprecatedSource: corev1.EventSource{Component: "kubelet"}, DeprecatedCount: 5,
				DeprecatedFirstTimestamp: metav1.NewTime(t0), DeprecatedLastTimestamp: metav1.NewTime(t1),
			},
			want: Event{UID: "e1", Owner: "e1", Reason: "BackOff", Type: "Normal", Message: "Back-off pulling image", Count: 5,
				First: t0, Last: t1, Source: "kubelet", Category: Activities, URN: "urn:kubernetes:/c:shop:pod/cart-1:container/app"},
		},
		{
			name: "new API with a series",
			in: eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{UID: "e2", CreationTimestamp: metav1.NewTime(t0)},
				EventTime:  metav1.NewMicroTime(t0), Reason: "FailedScheduling", Type: "Warning", Note: "0/2 nodes",
				Regarding:           corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "shop", Name: "cart-1"},
				ReportingController: "default-scheduler",
				Series:              &eventsv1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(t1)},
			},
			want: Event{UID: "e2", Owner: "e2", Reason: "FailedScheduling", Type: "Warning", Message: "0/2 nodes", Count: 3,
				First: t0, Last: t1, Source: "default-scheduler", Category: Alerts, URN: "urn:kubernetes:/c:shop:pod/cart-1"},
		},
		{
			name: "single occurrence, only eventTime",
			in: eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{UID: "e3"}, EventTime: metav1.NewMicroTime(t0), Reason: "Scheduled", Type: "Normal",
				Regarding: corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: "n1"}, ReportingController: "x",
			},
			want: Event{UID: "e3", Owner: "e3", Reason: "Scheduled", Type: "Normal", Count: 1, First: t0, Last: t0,
				Source: "x", Category: Activities, URN: "urn:kubernetes:/c:node/n1"},
		},
		{
			name: "unknown kind",
			in: eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{UID: "e4", CreationTimestamp: metav1.NewTime(t0)}, Reason: "SuccessfulRescale", Type: "Normal",
				Regarding: corev1.ObjectReference{Kind: "HorizontalPodAutoscaler", APIVersion: "autoscaling/v2", Namespace: "shop", Name: "h"},
			},
			want: Event{UID: "e4", Owner: "e4", Reason: "SuccessfulRescale", Type: "Normal", Count: 1, First: t0, Last: t0, Category: Others},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromEventsV1(&tt.in)
			got.Attach(topology.NewURNs("c"), NewCategorizer(nil))
			tt.want.Involved = object(tt.in.Regarding)
			compareEvent(t, got, tt.want)
		})
	}
}

func TestFromCoreV1(t *testing.T) {
	in := corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{UID: "e1", CreationTimestamp: metav1.NewTime(t0)},
		InvolvedObject: corev1.ObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Namespace: "shop", Name: "cart"},
		Reason:         "ScalingReplicaSet", Message: "Scaled up replica set cart-7d9f to 3", Type: "Normal", Count: 2,
		FirstTimestamp: metav1.NewTime(t0), LastTimestamp: metav1.NewTime(t1), Source: corev1.EventSource{Component: "deployment-controller"},
	}
	got := FromCoreV1(&in)
	got.Attach(topology.NewURNs("c"), NewCategorizer(nil))
	compareEvent(t, got, Event{UID: "e1", Owner: "e1", Reason: "ScalingReplicaSet", Type: "Normal", Message: in.Message, Count: 2,
		First: t0, Last: t1, Source: "deployment-controller", Category: Others, URN: "urn:kubernetes:/c:shop:deployment/cart",
		Involved: object(in.InvolvedObject)})
}

func compareEvent(t *testing.T, got, want Event) {
	t.Helper()
	if !got.First.Equal(want.First) || !got.Last.Equal(want.Last) {
		t.Errorf("times: got %s..%s, want %s..%s", got.First, got.Last, want.First, want.Last)
	}
	got.First, got.Last, want.First, want.Last = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestOOMEvents(t *testing.T) {
	oom := func(at time.Time) *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(at)}
	}
	pod := func(statuses ...corev1.ContainerStatus) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-1", UID: "pod-uid"},
			Status:     corev1.PodStatus{ContainerStatuses: statuses},
		}
	}
	// The same kill as the current state (before the restart) and as the
	// last state (after it) is the same event.
	before := OOMEvents(pod(corev1.ContainerStatus{Name: "app", RestartCount: 0, State: corev1.ContainerState{Terminated: oom(t0)}}))
	after := OOMEvents(pod(corev1.ContainerStatus{Name: "app", RestartCount: 1,
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: oom(t0)}}))
	if len(before) != 1 || len(after) != 1 || before[0].UID != after[0].UID {
		t.Fatalf("one kill must be one event: before %+v, after %+v", before, after)
	}
	ev := after[0]
	ev.Attach(topology.NewURNs("c"), NewCategorizer(nil))
	if ev.Reason != "OOMKilled" || ev.Type != "Warning" || ev.Category != Alerts || ev.Count != 1 ||
		ev.URN != "urn:kubernetes:/c:shop:pod/cart-1:container/app" || !ev.Last.Equal(t0) || ev.Owner != "pod-uid" {
		t.Errorf("unexpected OOM event %+v", ev)
	}

	tests := []struct {
		name string
		pod  *corev1.Pod
		want int
	}{
		{"running, never killed", pod(corev1.ContainerStatus{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}), 0},
		{"terminated, other reason", pod(corev1.ContainerStatus{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error"}}}), 0},
		{"a second kill after the restart", pod(corev1.ContainerStatus{Name: "app", RestartCount: 1,
			State: corev1.ContainerState{Terminated: oom(t1)}, LastTerminationState: corev1.ContainerState{Terminated: oom(t0)}}), 2},
		{"two containers", pod(
			corev1.ContainerStatus{Name: "app", State: corev1.ContainerState{Terminated: oom(t0)}},
			corev1.ContainerStatus{Name: "sidecar", LastTerminationState: corev1.ContainerState{Terminated: oom(t0)}}), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OOMEvents(tt.pod); len(got) != tt.want {
				t.Errorf("got %d events, want %d: %+v", len(got), tt.want, got)
			}
		})
	}

	init := pod()
	init.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", State: corev1.ContainerState{Terminated: oom(t0)}}}
	got := OOMEvents(init)
	if len(got) != 1 || got[0].Involved.FieldPath != "spec.initContainers{migrate}" {
		t.Errorf("init container: %+v", got)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"much longer than ten", 10, "much lo…"},
		{"ééééé", 6, "é…"},
		{"no limit", 0, "no limit"},
	}
	for _, tt := range tests {
		if got := Truncate(tt.in, tt.max); got != tt.want || len(got) > max(tt.max, len(tt.in)) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
