package clusteragent

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	goruntime "runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/events"
	"github.com/kubetopo/kubetopo/internal/heapstat"
	"github.com/kubetopo/kubetopo/topology"
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

var (
	evT0 = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	evT1 = evT0.Add(90 * time.Second)
)

// fullMeta is an event's metadata as the apiserver returns it, with what the
// conversion never reads.
func fullMeta(ns, name, uid string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: ns, Name: name, UID: types.UID(uid), ResourceVersion: "4711", CreationTimestamp: metav1.NewTime(evT0),
		Labels: map[string]string{"x": "y"}, Annotations: map[string]string{"a": "b"}, Generation: 1,
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate,
			APIVersion: "v1", Time: &metav1.Time{Time: evT0}, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:count":{}}`)}}},
	}
}

func eventsForStrip() map[string]any {
	podRef := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "shop", Name: "cart-1", UID: "pod-uid", ResourceVersion: "99", FieldPath: "spec.containers{app}"}
	initRef := podRef
	initRef.FieldPath = "spec.initContainers{migrate}"
	wholePod := podRef
	wholePod.FieldPath = ""
	related := &corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: "n1"}
	return map[string]any{
		"events/v1 written through core/v1, counted, container field path": &eventsv1.Event{
			ObjectMeta: fullMeta("shop", "cart-1.17a1", "e1"), Reason: "BackOff", Type: "Warning",
			Note: "Back-off restarting failed container app", Regarding: podRef, Related: related,
			ReportingController: "kubelet", ReportingInstance: "n1", Action: "",
			DeprecatedSource: corev1.EventSource{Component: "kubelet", Host: "n1"}, DeprecatedCount: 17,
			DeprecatedFirstTimestamp: metav1.NewTime(evT0), DeprecatedLastTimestamp: metav1.NewTime(evT1),
		},
		"events/v1 series": &eventsv1.Event{
			ObjectMeta: fullMeta("shop", "cart-1.17a2", "e2"), EventTime: metav1.NewMicroTime(evT0),
			Series: &eventsv1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(evT1)},
			Reason: "FailedScheduling", Type: "Warning", Note: "0/200 nodes are available", Regarding: wholePod,
			ReportingController: "default-scheduler", ReportingInstance: "default-scheduler-cp", Action: "Scheduling",
		},
		"events/v1 single, node": &eventsv1.Event{
			ObjectMeta: fullMeta("default", "n1.17a3", "e3"), EventTime: metav1.NewMicroTime(evT0),
			Reason: "NodeReady", Type: "Normal", Note: "Node n1 status is now: NodeReady",
			Regarding:           corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: "n1", UID: "n1"},
			ReportingController: "kubelet", ReportingInstance: "n1", Action: "NodeReady",
		},
		"events/v1 without times": &eventsv1.Event{
			ObjectMeta: fullMeta("shop", "web.17a4", "e4"), Reason: "SuccessfulRescale", Type: "Normal",
			Regarding:        corev1.ObjectReference{Kind: "HorizontalPodAutoscaler", APIVersion: "autoscaling/v2", Namespace: "shop", Name: "web"},
			DeprecatedSource: corev1.EventSource{Component: "horizontal-pod-autoscaler"},
		},
		"core/v1 counted, init container": &corev1.Event{
			ObjectMeta: fullMeta("shop", "cart-1.17a5", "e5"), InvolvedObject: initRef, Related: related,
			Reason: "Pulled", Message: `Container image "migrate:1" already present on machine`, Type: "Normal",
			Source: corev1.EventSource{Component: "kubelet", Host: "n1"}, Count: 3,
			FirstTimestamp: metav1.NewTime(evT0), LastTimestamp: metav1.NewTime(evT1),
		},
		"core/v1 series": &corev1.Event{
			ObjectMeta: fullMeta("shop", "cart-1.17a6", "e6"), InvolvedObject: wholePod, Reason: "FailedScheduling",
			Message: "0/200 nodes are available", Type: "Warning", EventTime: metav1.NewMicroTime(evT0),
			Series: &corev1.EventSeries{Count: 9, LastObservedTime: metav1.NewMicroTime(evT1)}, Action: "Scheduling",
			ReportingController: "default-scheduler", ReportingInstance: "default-scheduler-cp",
		},
		"core/v1 replica set": &corev1.Event{
			ObjectMeta:     fullMeta("shop", "cart-5d9c.17a7", "e7"),
			InvolvedObject: corev1.ObjectReference{Kind: "ReplicaSet", APIVersion: "apps/v1", Namespace: "shop", Name: "cart-5d9c", UID: "rs"},
			Reason:         "SuccessfulCreate", Message: "Created pod: cart-5d9c-x1", Type: "Normal",
			Source: corev1.EventSource{Component: "replicaset-controller"}, Count: 1,
			FirstTimestamp: metav1.NewTime(evT0), LastTimestamp: metav1.NewTime(evT0),
		},
	}
}

// attached is the pipeline's view of an event: converted (from the API
// object, or as the informer cached it) and attached.
func attached(t *testing.T, obj any) events.Event {
	t.Helper()
	var ev events.Event
	switch e := obj.(type) {
	case *eventsv1.Event:
		ev = events.FromEventsV1(e)
	case *corev1.Event:
		ev = events.FromCoreV1(e)
	default:
		var ok bool
		if ev, ok = convertEvent(obj); !ok {
			t.Fatalf("%T is no event", obj)
		}
	}
	ev.Attach(topology.NewURNs("c"), events.NewCategorizer(nil))
	return ev
}

// What the pipeline gets from a cached (stripped) event equals what it got
// from the full one; the informer still has its key, UID and resource
// version; a second stripping changes nothing.
func TestStripEventKeepsConversion(t *testing.T) {
	for name, obj := range eventsForStrip() {
		t.Run(name, func(t *testing.T) {
			want := attached(t, obj)
			stripped, err := stripEvent(obj)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := stripped.(*cachedEvent); !ok {
				t.Fatalf("stripped to %T", stripped)
			}
			if got := attached(t, stripped); !reflect.DeepEqual(got, want) {
				t.Errorf("stripped converts to\n%+v\nfull to\n%+v", got, want)
			}
			m, err := meta.Accessor(obj)
			if err != nil {
				t.Fatal(err)
			}
			sm, err := meta.Accessor(stripped)
			if err != nil {
				t.Fatalf("client-go cannot key the cached event: %v", err)
			}
			if sm.GetNamespace() != m.GetNamespace() || sm.GetName() != m.GetName() || sm.GetUID() != m.GetUID() || sm.GetResourceVersion() != m.GetResourceVersion() {
				t.Errorf("metadata %s/%s %s %s, want %s/%s %s %s", sm.GetNamespace(), sm.GetName(), sm.GetUID(), sm.GetResourceVersion(),
					m.GetNamespace(), m.GetName(), m.GetUID(), m.GetResourceVersion())
			}
			if k1, _ := cache.MetaNamespaceKeyFunc(obj); k1 != mustKey(t, stripped) {
				t.Errorf("informer key %q, want %q", mustKey(t, stripped), k1)
			}
			if uidOf(stripped) != string(m.GetUID()) || uidOf(cache.DeletedFinalStateUnknown{Obj: stripped}) != string(m.GetUID()) {
				t.Errorf("uidOf the cached event: %q", uidOf(stripped))
			}
			again, _ := stripEvent(stripped)
			if !reflect.DeepEqual(again, stripped) {
				t.Errorf("not idempotent:\n%+v\n%+v", again, stripped)
			}
			// Counting only: the same event without its message.
			countOnly := eventTransform{dropMessage: true}
			for _, in := range []any{obj, stripped} {
				c, err := countOnly.strip(in)
				if err != nil {
					t.Fatal(err)
				}
				noMsg := want
				noMsg.Message = ""
				if got := attached(t, c); !reflect.DeepEqual(got, noMsg) {
					t.Errorf("count-only cache converts to\n%+v\nwant\n%+v", got, noMsg)
				}
			}
		})
	}
}

func mustKey(t *testing.T, obj any) string {
	t.Helper()
	k, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// decodedEvents returns n events as the informer decodes them from protobuf
// (every string its own allocation), shaped as bench-scale's: per pod
// Scheduled, Pulled, Created, Started and its ReplicaSet's SuccessfulCreate.
func decodedEvents(tb testing.TB, pods int) []any {
	out := make([]any, 0, pods*5)
	reasons := []string{"Scheduled", "Pulled", "Created", "Started", "SuccessfulCreate"}
	for i := 0; i < pods; i++ {
		ns, rs := "ns-"+strconv.Itoa(i/1000), "app-"+strconv.Itoa(i/100)+"-5d9c7b8f6"
		pod := rs + "-" + strconv.FormatInt(int64(i)*104729%0xfffff, 36)
		for j, reason := range reasons {
			n := len(out)
			ref := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: pod, UID: types.UID(fmt.Sprintf("pod-%08x", i)), ResourceVersion: "12345"}
			controller, note := "kubelet", "Started container app"
			switch j {
			case 0:
				controller, note = "default-scheduler", "Successfully assigned "+ns+"/"+pod+" to kwok-node-"+strconv.Itoa(i%200)
			case 4:
				ref = corev1.ObjectReference{Kind: "ReplicaSet", APIVersion: "apps/v1", Namespace: ns, Name: rs, UID: types.UID("rs-" + rs), ResourceVersion: "777"}
				controller, note = "replicaset-controller", "Created pod: "+pod
			default:
				ref.FieldPath = "spec.containers{app}"
			}
			meta := fullMeta(ns, ref.Name+"."+strconv.FormatInt(int64(n)*7919, 16), fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n))
			meta.Labels, meta.Annotations = nil, nil
			e := &eventsv1.Event{
				ObjectMeta: meta, Reason: reason, Type: "Normal", Note: note, Regarding: ref,
				ReportingController: controller, ReportingInstance: controller + "-" + strconv.Itoa(i%200),
				DeprecatedSource: corev1.EventSource{Component: controller}, DeprecatedCount: 1,
				DeprecatedFirstTimestamp: metav1.NewTime(evT0), DeprecatedLastTimestamp: metav1.NewTime(evT0),
			}
			b, err := e.Marshal()
			if err != nil {
				tb.Fatal(err)
			}
			var d eventsv1.Event
			if err := d.Unmarshal(b); err != nil {
				tb.Fatal(err)
			}
			out = append(out, &d)
		}
	}
	return out
}

// BenchmarkEventCacheHeap: live heap per cached event of 20,000 decoded
// events/v1 Events, side by side: as decoded (kept=full), with the
// transform the agent had until now (kept=metadata-stripped: managed fields,
// labels and annotations dropped in place) and with stripEvent
// (kept=converted: the decoded originals dropped), and without the message
// as when nothing is delivered.
func BenchmarkEventCacheHeap(b *testing.B) {
	transforms := []struct {
		name string
		fn   func(any) any
	}{
		{"full", func(o any) any { return o }},
		{"metadata-stripped", func(o any) any {
			m := o.(metav1.Object)
			m.SetManagedFields(nil)
			m.SetAnnotations(nil)
			m.SetLabels(nil)
			return o
		}},
		{"converted", func(o any) any { c, _ := stripEvent(o); return c }},
		{"converted-without-message", func(o any) any { c, _ := eventTransform{dropMessage: true}.strip(o); return c }},
	}
	for _, tr := range transforms {
		b.Run("kept="+tr.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				before := heapstat.Live()
				cache := decodedEvents(b, 4000)
				for j, o := range cache {
					cache[j] = tr.fn(o)
				}
				b.ReportMetric(float64(heapstat.Live()-before)/float64(len(cache)), "live-B/event")
				goruntime.KeepAlive(cache)
			}
		})
	}
}
