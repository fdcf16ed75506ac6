// Package clusteragent is the cluster agent's engine: it watches the
// Kubernetes API with shared informers, maps every object through the
// topology package and keeps the exporter's Store current on every watch
// event. It never lists periodically: after the informers' initial LIST,
// only watch events (and the relists client-go does when a watch expires)
// change the topology.
package clusteragent

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/events"
	"github.com/kubetopo/kubetopo/topology"
)

// Options configure an Agent. Client and Metadata may be fakes in unit tests;
// the agent's proof is against a real apiserver.
type Options struct {
	Cluster  string
	Client   kubernetes.Interface
	Metadata metadata.Interface
	// Kinds are the resources to watch; nil means topology.Kinds().
	Kinds      []topology.Kind
	Store      *exporter.Store
	Logger     log.Logger
	Registerer prometheus.Registerer
	// Events, when set, also watches Kubernetes events (and pods' container
	// statuses for OOM kills) into this pipeline; EventsAPI forces an API
	// (empty: discovered).
	Events    *events.Pipeline
	EventsAPI EventsAPI
}

// Agent keeps a Store in step with the cluster.
type Agent struct {
	urns    topology.URNs
	store   *exporter.Store
	logger  log.Logger
	kinds   []*watched
	queue   workqueue.TypedInterface[item]
	join    *selectorJoin
	metrics *metrics
	factory informers.SharedInformerFactory
	mdf     metadatainformer.SharedInformerFactory
	synced  atomic.Bool
	// complete latches the first moment the store held everything the
	// informers' initial lists delivered (see Ready).
	complete atomic.Bool
	// released latches once the initial lists' memory went back to the OS.
	released atomic.Bool
	// enqueued counts events handed to the queue; applied is the count up
	// to which every event is known to be in the store. Idle compares them.
	enqueued, applied atomic.Uint64

	client       kubernetes.Interface
	events       *eventsWatch
	eventsSynced atomic.Bool
}

type watched struct {
	kind     topology.Kind
	informer cache.SharedIndexInformer
}

// item is one object to (re)map: the index of its kind and its cache key.
type item struct {
	kind int
	key  string
}

// New creates the informers for every kind; Run starts them.
func New(opts Options) (*Agent, error) {
	if opts.Cluster == "" {
		return nil, errors.New("cluster name is empty")
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	kinds := opts.Kinds
	if kinds == nil {
		kinds = topology.Kinds()
	}
	a := &Agent{
		urns:   topology.NewURNs(opts.Cluster),
		store:  opts.Store,
		logger: opts.Logger,
		queue:  workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[item]{Name: "topology"}),
		client: opts.Client,
	}
	a.join = newSelectorJoin(a.urns, a.store)
	a.factory = informers.NewSharedInformerFactory(opts.Client, 0)
	a.mdf = metadatainformer.NewSharedInformerFactory(opts.Metadata, 0)
	for _, k := range kinds {
		var inf cache.SharedIndexInformer
		if k.MetadataOnly {
			inf = a.mdf.ForResource(k.GVR).Informer()
		} else {
			gi, err := a.factory.ForResource(k.GVR)
			if err != nil {
				return nil, fmt.Errorf("informer for %s: %w", k.Resource, err)
			}
			inf = gi.Informer()
		}
		if err := inf.SetTransform(strip); err != nil {
			return nil, fmt.Errorf("transform for %s: %w", k.Resource, err)
		}
		w := &watched{kind: k, informer: inf}
		a.kinds = append(a.kinds, w)
	}
	a.metrics = newMetrics(a)
	if err := a.metrics.register(opts.Registerer); err != nil {
		return nil, err
	}
	for i, w := range a.kinds {
		if err := a.watch(i, w); err != nil {
			return nil, err
		}
	}
	if opts.Events != nil {
		if err := a.watchEvents(opts.Events, opts.EventsAPI); err != nil {
			return nil, err
		}
	}
	a.store.Update("cluster", topology.Result{Components: []topology.Component{topology.ClusterComponent(a.urns)}})
	return a, nil
}

func (a *Agent) watch(i int, w *watched) error {
	res := w.kind.Resource
	if err := w.informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		a.metrics.listWatchErrors.WithLabelValues(res).Inc()
		level.Warn(a.logger).Log("msg", "list or watch failed, the informer retries with backoff", "resource", res, "err", err)
	}); err != nil {
		return fmt.Errorf("watch error handler for %s: %w", res, err)
	}
	enqueue := func(event string, obj any) {
		key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		if err != nil {
			level.Error(a.logger).Log("msg", "cannot key object", "resource", res, "err", err)
			return
		}
		a.metrics.events.WithLabelValues(res, event).Inc()
		a.enqueued.Add(1)
		a.queue.Add(item{kind: i, key: key})
	}
	_, err := w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { enqueue("add", obj) },
		UpdateFunc: func(_, obj any) { enqueue("update", obj) },
		// obj may be a cache.DeletedFinalStateUnknown tombstone when the
		// delete was missed and seen only at relist; the key covers both.
		DeleteFunc: func(obj any) { enqueue("delete", obj) },
	})
	if err != nil {
		return fmt.Errorf("event handler for %s: %w", res, err)
	}
	return nil
}

// Run starts the informers and keeps the store current until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	a.factory.Start(ctx.Done())
	a.mdf.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		a.queue.ShutDown()
	}()
	go a.waitForSync(ctx)
	go a.waitEventsSync(ctx)
	for a.processNext() {
	}
	a.factory.Shutdown()
	a.mdf.Shutdown()
	return nil
}

func (a *Agent) waitForSync(ctx context.Context) {
	start := time.Now()
	for _, w := range a.kinds {
		if !cache.WaitForCacheSync(ctx.Done(), w.informer.HasSynced) {
			return
		}
		level.Debug(a.logger).Log("msg", "informer synced", "resource", w.kind.Resource)
	}
	a.synced.Store(true)
	level.Info(a.logger).Log("msg", "all informers synced", "resources", len(a.kinds), "duration", time.Since(start))
	if a.Idle() {
		a.latchComplete()
	}
}

// Synced reports whether every informer has completed its initial list.
func (a *Agent) Synced() bool { return a.synced.Load() }

// Idle reports whether every informer has synced and every event seen so far
// has been applied to the store.
func (a *Agent) Idle() bool { return a.Synced() && a.applied.Load() >= a.enqueued.Load() }

// Ready reports whether the store has held the complete topology at least
// once: every informer synced and every object of their initial lists applied.
// Synced alone turns true while the queue may still hold thousands of objects
// (a scrape then would serve a partial topology). Ready latches, so later
// churn never makes a running agent unready.
func (a *Agent) Ready() bool {
	if a.complete.Load() {
		return true
	}
	if a.Idle() {
		a.latchComplete()
		return true
	}
	return false
}

// latchComplete marks the topology complete, once. The initial lists are the
// largest transient allocation of the agent's life (every object decoded
// whole before the transform slims it): their memory goes back to the OS at
// once rather than over minutes, so the agent's RSS after start reflects
// what it keeps.
func (a *Agent) latchComplete() {
	if !a.complete.CompareAndSwap(false, true) {
		return
	}
	level.Info(a.logger).Log("msg", "topology complete: every object of the initial lists is in the store")
	a.releaseListMemory()
}

// releaseListMemory returns the initial lists' memory to the OS once the
// topology is complete and the event stream (when watched) has its initial
// list too: the events' list, often the largest, may come last.
func (a *Agent) releaseListMemory() {
	if !a.complete.Load() || (a.events != nil && !a.eventsSynced.Load()) || !a.released.CompareAndSwap(false, true) {
		return
	}
	go func() {
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		level.Info(a.logger).Log("msg", "initial lists done, their memory returned to the OS", "heap_alloc_bytes", ms.HeapAlloc)
	}()
}

func (a *Agent) processNext() bool {
	it, shutdown := a.queue.Get()
	if shutdown {
		return false
	}
	// Every event counted up to here is applied, or still queued, or for
	// this very item (the queue re-adds an item changed while in flight), so
	// an empty queue after Done means all of them are in the store.
	seen := a.enqueued.Load()
	defer func() {
		a.queue.Done(it)
		if a.queue.Len() == 0 {
			a.applied.Store(seen)
			if !a.complete.Load() && a.Idle() {
				a.latchComplete()
			}
		}
	}()
	w := a.kinds[it.kind]
	owner := w.kind.Resource + "/" + it.key
	obj, exists, err := w.informer.GetIndexer().GetByKey(it.key)
	if err != nil {
		level.Error(a.logger).Log("msg", "cache lookup failed", "resource", w.kind.Resource, "key", it.key, "err", err)
		return true
	}
	if !exists {
		a.store.Delete(owner)
		a.forget(w.kind.Resource, it.key)
		return true
	}
	if l, ok := obj.(*podLite); ok {
		obj = l.Pod()
	}
	res, err := w.kind.Map(a.urns, obj)
	if err != nil {
		level.Error(a.logger).Log("msg", "cannot map object", "resource", w.kind.Resource, "key", it.key, "err", err)
		return true
	}
	a.store.Update(owner, res)
	a.join1(obj)
	return true
}

// join1 feeds the service → pod selector join.
func (a *Agent) join1(obj any) {
	switch o := obj.(type) {
	case *corev1.Pod:
		a.join.upsertPod(o.Namespace, o.Name, o.Labels)
	case *corev1.Service:
		a.join.upsertService(o.Namespace, o.Name, topology.ServiceSelector(o))
	}
}

func (a *Agent) forget(resource, key string) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return
	}
	switch resource {
	case "pods":
		a.join.deletePod(ns, name)
	case "services":
		a.join.deleteService(ns, name)
	}
}
