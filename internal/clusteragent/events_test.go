package clusteragent

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/events"
)

// The agent feeds events from either API, and pods' OOM kills, into the
// pipeline; kubetopo_events_total shows them with their URN and category.
func TestAgentEvents(t *testing.T) {
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-1", UID: "pod-uid"},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", RestartCount: 1,
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, FinishedAt: now}},
		}}},
	}
	ref := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "shop", Name: "cart-1", FieldPath: "spec.containers{app}"}
	tests := []struct {
		api   EventsAPI
		event runtime.Object
	}{
		{CoreV1, &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "e1", UID: "e1"}, InvolvedObject: ref,
			Reason: "BackOff", Type: "Normal", Count: 4, FirstTimestamp: now, LastTimestamp: now,
		}},
		{EventsV1, &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "e1", UID: "e1"}, Regarding: ref,
			Reason: "BackOff", Type: "Normal", DeprecatedCount: 4, DeprecatedFirstTimestamp: now, DeprecatedLastTimestamp: now,
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.api), func(t *testing.T) {
			client := kubefake.NewClientset(pod, tt.event)
			md := metadatafake.NewSimpleMetadataClient(runtime.NewScheme())
			reg := prometheus.NewRegistry()
			p, err := events.New(events.Options{Cluster: "test", Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			kinds, err := SelectKinds([]string{"pods"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(Options{Cluster: "test", Client: client, Metadata: md, Kinds: kinds, Store: exporter.NewStore("test", nil),
				Registerer: reg, Events: p, EventsAPI: tt.api})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = a.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			want := map[string]float64{
				"urn:kubernetes:/test:shop:pod/cart-1:container/app|Activities|BackOff|Normal": 4,
				"urn:kubernetes:/test:shop:pod/cart-1:container/app|Alerts|OOMKilled|Warning":  1,
			}
			var got map[string]float64
			err = wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
				got = eventTotals(t, p)
				return a.EventsSynced() && len(got) == len(want), nil
			})
			if err != nil {
				t.Fatalf("events not counted: got %v", got)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

// eventTotals reads kubetopo_events_total from the pipeline's part of
// /metrics.
func eventTotals(t *testing.T, p *events.Pipeline) map[string]float64 {
	t.Helper()
	var buf bytes.Buffer
	if err := p.WriteMetrics(&buf); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	if mf := mfs["kubetopo_events_total"]; mf != nil {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out[l["urn"]+"|"+l["category"]+"|"+l["reason"]+"|"+l["type"]] = m.GetCounter().GetValue()
		}
	}
	return out
}

func TestDiscoverEventsAPI(t *testing.T) {
	tests := []struct {
		name      string
		resources []*metav1.APIResourceList
		want      EventsAPI
	}{
		{"served", []*metav1.APIResourceList{{GroupVersion: "events.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "events", Kind: "Event"}}}}, EventsV1},
		{"group without events", []*metav1.APIResourceList{{GroupVersion: "events.k8s.io/v1"}}, CoreV1},
		{"not served", []*metav1.APIResourceList{{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "events", Kind: "Event"}}}}, CoreV1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := kubefake.NewClientset()
			c.Resources = tt.resources
			if got := DiscoverEventsAPI(c.Discovery()); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTopologySeries(t *testing.T) {
	_, store, lines := startFake(t)
	at := time.UnixMilli(1700000000123)
	series, err := TopologySeries(store, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != len(lines()) {
		t.Fatalf("%d remote-write series for %d exposition lines", len(series), len(lines()))
	}
	for _, s := range series {
		if s.Samples[0].Value != 1 || s.Samples[0].Timestamp != at.UnixMilli() {
			t.Fatalf("sample %+v", s.Samples[0])
		}
		for i := 1; i < len(s.Labels); i++ {
			if s.Labels[i-1].Name >= s.Labels[i].Name {
				t.Fatalf("labels not sorted: %v", s.Labels)
			}
		}
		if s.Labels[0].Name != "__name__" {
			t.Fatalf("no metric name: %v", s.Labels)
		}
	}
}
