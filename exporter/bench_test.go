package exporter_test

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/heapstat"
	"github.com/kubetopo/kubetopo/internal/scenario"
	"github.com/kubetopo/kubetopo/topology"
)

// load maps objs into a store the way the agent does, selector relations
// included (every pod of a deployment is exposed by its Service).
func load(tb testing.TB, objs []k8sruntime.Object) *exporter.Store {
	tb.Helper()
	u := topology.NewURNs("bench")
	kinds := map[string]topology.Kind{}
	for _, k := range topology.Kinds() {
		kinds[k.Resource] = k
	}
	s := exporter.NewStore("bench", nil)
	for _, obj := range objs {
		res, key := resourceOf(obj)
		var in any = obj
		if pm, ok := scenario.AsMetadata(obj); ok {
			in = pm
		}
		r, err := kinds[res].Map(u, in)
		if err != nil {
			tb.Fatal(err)
		}
		s.Update(res+"/"+key, r)
		if p, ok := obj.(*corev1.Pod); ok {
			s.Update("sel/"+key, topology.Result{Relations: []topology.Relation{topology.ExposesPod(u, p.Namespace, p.Labels["app"], p.Name)}})
		}
	}
	return s
}

func resourceOf(obj k8sruntime.Object) (string, string) {
	m := obj.(metav1.Object)
	key := m.GetNamespace() + "/" + m.GetName()
	switch obj.(type) {
	case *corev1.Pod:
		return "pods", key
	case *corev1.Node:
		return "nodes", key
	case *corev1.Namespace:
		return "namespaces", key
	case *corev1.Service:
		return "services", key
	case *corev1.ConfigMap:
		return "configmaps", key
	case *corev1.Secret:
		return "secrets", key
	}
	switch fmt.Sprintf("%T", obj) {
	case "*v1.Deployment":
		return "deployments", key
	case "*v1.ReplicaSet":
		return "replicasets", key
	}
	panic(fmt.Sprintf("no resource for %T", obj))
}

// BenchmarkPodToSeries is the object → series path for one pod update:
// mapping, rendering its lines and swapping them into a store of 10k pods.
func BenchmarkPodToSeries(b *testing.B) {
	objs := scenario.Scale(200, 100, 100)
	s := load(b, objs)
	u := topology.NewURNs("bench")
	var pods []*corev1.Pod
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pods[i%len(pods)]
		s.Update("pods/"+p.Namespace+"/"+p.Name, topology.MapPod(u, p))
	}
}

// BenchmarkRender10kPods renders /metrics for 10k pods in 100 Deployments on
// 200 nodes, plain and gzip (what Prometheus asks for).
func BenchmarkRender10kPods(b *testing.B) {
	s := load(b, scenario.Scale(200, 100, 100))
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	series := bytes.Count(buf.Bytes(), []byte("\n")) - 3*2 // less the HELP and TYPE lines
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = s.WriteTo(io.Discard)
		}
		b.ReportMetric(float64(buf.Len()), "bytes/scrape")
		b.ReportMetric(float64(series), "series/scrape")
	})
	b.Run("gzip", func(b *testing.B) {
		b.ReportAllocs()
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		for i := 0; i < b.N; i++ {
			zw.Reset(io.Discard)
			_, _ = s.WriteTo(zw)
			_ = zw.Close()
		}
	})
}

// BenchmarkStoreHeap10kPods measures what the store of 10k pods (111,720
// series) keeps on the heap: live heap after a full GC with the store loaded,
// less the same without it (the source objects are live in both).
func BenchmarkStoreHeap10kPods(b *testing.B) {
	objs := scenario.Scale(200, 100, 100)
	for i := 0; i < b.N; i++ {
		before := heapstat.Live()
		s := load(b, objs)
		after := heapstat.Live()
		var buf bytes.Buffer
		if _, err := s.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
		series := bytes.Count(buf.Bytes(), []byte("\n")) - 3*2
		b.ReportMetric(float64(after-before)/(1<<20), "MiB")
		b.ReportMetric(float64(after-before)/float64(series), "bytes/series")
		runtime.KeepAlive(s)
	}
	runtime.KeepAlive(objs)
}

// BenchmarkCounts10kPods is the per-type component and relation counts the
// agent publishes on every scrape, over a 10k-pod store.
func BenchmarkCounts10kPods(b *testing.B) {
	s := load(b, scenario.Scale(200, 100, 100))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		comps, rels := s.Counts()
		if len(comps) == 0 || len(rels) == 0 {
			b.Fatal("no counts")
		}
	}
}
