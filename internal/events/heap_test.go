package events

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubetopo/kubetopo/internal/heapstat"
)

// realisticEvents returns the events of a cluster of pods in Deployments of
// 100 pods each, as bench-scale creates them: per pod Scheduled (the pod),
// Pulled, Created and Started (its container), plus one SuccessfulCreate per
// pod on its ReplicaSet; every string is its own allocation, as when decoded.
func realisticEvents(pods int) []*eventsv1.Event {
	out := make([]*eventsv1.Event, 0, pods*5)
	at := metav1.NewTime(t0)
	add := func(reason, note, controller string, ref corev1.ObjectReference) {
		n := len(out)
		out = append(out, &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: "ns-" + strconv.Itoa(n/1000), Name: ref.Name + "." + strconv.FormatInt(int64(n)*7919, 16),
				UID: types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n)), ResourceVersion: strconv.Itoa(1000 + n),
				CreationTimestamp: at,
			},
			Reason: reason, Type: "Normal", Note: note, Regarding: ref, ReportingController: controller,
			DeprecatedSource: corev1.EventSource{Component: controller}, DeprecatedCount: 1,
			DeprecatedFirstTimestamp: at, DeprecatedLastTimestamp: at,
		})
	}
	for i := 0; i < pods; i++ {
		ns := "ns-" + strconv.Itoa(i/1000)
		rs := "app-" + strconv.Itoa(i/100) + "-5d9c7b8f6"
		pod := rs + "-" + strconv.FormatInt(int64(i)*104729%0xfffff, 36)
		ref := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: pod, UID: types.UID(fmt.Sprintf("pod-%d", i))}
		add("Scheduled", "Successfully assigned "+ns+"/"+pod+" to kwok-node-"+strconv.Itoa(i%200), "default-scheduler", ref)
		ref.FieldPath = "spec.containers{app}"
		add("Pulled", `Container image "registry.k8s.io/pause:3.10" already present on machine`, "kubelet", ref)
		add("Created", "Created container: app", "kubelet", ref)
		add("Started", "Started container app", "kubelet", ref)
		add("SuccessfulCreate", "Created pod: "+pod, "replicaset-controller",
			corev1.ObjectReference{Kind: "ReplicaSet", APIVersion: "apps/v1", Namespace: ns, Name: rs, UID: types.UID("rs-" + rs)})
	}
	return out
}

// BenchmarkPipelineHeap feeds the events of 4,000 pods (20,000 events) to a
// pipeline without a writer, tells it the initial lists are done, and reports the live heap the pipeline holds
// per event after a GC: its entries, its counts and their series on
// /metrics. The events themselves (the informer cache's cost) are allocated
// before the baseline.
func BenchmarkPipelineHeap(b *testing.B) {
	objs := realisticEvents(4000)
	evs := make([]Event, len(objs))
	for i, o := range objs {
		evs[i] = FromEventsV1(o)
	}
	for i := 0; i < b.N; i++ {
		before := heapstat.Live()
		p, err := New(Options{Cluster: "bench", Registerer: prometheus.NewRegistry()})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, e := range evs {
			p.Observe(SrcEvents, e)
		}
		p.SyncDone(SrcEvents) // as the agent does after the initial list
		p.SyncDone(SrcOOM)
		observed := time.Since(start)
		after := heapstat.Live()
		b.ReportMetric(float64(after-before)/float64(len(evs)), "live-B/event")
		b.ReportMetric(float64(observed.Nanoseconds())/float64(len(evs)), "ns/observe")
		runtime.KeepAlive(p)
	}
	runtime.KeepAlive(objs)
}
