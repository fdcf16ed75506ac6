package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubetopo/kubetopo/internal/republish"
)

// Options configure the node agent.
type Options struct {
	Cluster string
	Node    string
	// Client reads this node's Node object and, with KSM enabled, the
	// kube-state-metrics pods on this node. nil: no Node facts, no KSM.
	Client   kubernetes.Interface
	Kubelet  KubeletOptions
	KSM      KSMOptions
	ProcRoot string        // the host's /proc; "/proc" when empty
	Interval time.Duration // between scrape rounds; 15s when zero
	// SyncTimeout bounds the wait for the informers at start; 30s when zero.
	SyncTimeout time.Duration
	// AfterRound, when set, is called after every scrape round (push to the
	// receiver hangs here).
	AfterRound func(ctx context.Context, pages map[string]*republish.Page)
	Logger     log.Logger
	Registerer prometheus.Registerer
}

// Agent scrapes the node's kubelet and kube-state-metrics and republishes
// their series with cluster and urn.
type Agent struct {
	o        Options
	res      *Resolver
	rep      *republish.Republisher
	kubelet  []republish.Source
	ksm      *ksmDiscovery
	nodes    informers.SharedInformerFactory
	nodeList listersv1.NodeLister
	synced   []cache.InformerSynced
	ready    atomic.Bool
}

// New validates o and builds the agent; Run starts it.
func New(o Options) (*Agent, error) {
	if o.Cluster == "" {
		return nil, errors.New("--cluster.name is required")
	}
	if o.Node == "" {
		return nil, errors.New("--node.name is required (or set NODE_NAME from the downward API)")
	}
	if o.Kubelet.Host == "" {
		return nil, errors.New("--kubelet.host is required (or set NODE_IP from the downward API)")
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.Interval <= 0 {
		o.Interval = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	a := &Agent{o: o, res: NewResolver(o.Cluster, o.Node)}
	var err error
	if a.rep, err = republish.New(republish.Options{Logger: o.Logger, Registerer: o.Registerer}); err != nil {
		return nil, fmt.Errorf("registering scrape metrics: %w", err)
	}
	if a.kubelet, err = kubeletSources(o.Kubelet, o.Cluster, a.res); err != nil {
		return nil, err
	}
	if o.Client != nil {
		a.nodes = informers.NewSharedInformerFactoryWithOptions(o.Client, 0, informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", o.Node).String()
		}))
		ni := a.nodes.Core().V1().Nodes()
		a.nodeList = ni.Lister()
		a.synced = append(a.synced, ni.Informer().HasSynced)
		if o.KSM.Enabled {
			if a.ksm, err = newKSMDiscovery(o.KSM, o.Client, o.Node, o.Cluster, a.res); err != nil {
				return nil, err
			}
			a.synced = append(a.synced, a.ksm.synced)
		}
	} else if o.KSM.Enabled {
		return nil, errors.New("kube-state-metrics discovery needs a Kubernetes client")
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(&hostCollector{
			cluster: o.Cluster, node: o.Node, urn: a.res.NodeURN(), procRoot: o.ProcRoot, getNode: a.node,
		}); err != nil {
			return nil, fmt.Errorf("registering host metrics: %w", err)
		}
	}
	return a, nil
}

func (a *Agent) node() *corev1.Node {
	if a.nodeList == nil {
		return nil
	}
	n, err := a.nodeList.Get(a.o.Node)
	if err != nil {
		return nil
	}
	return n
}

// Sources are the sources of the next scrape round: the kubelet endpoints
// and the kube-state-metrics pods on this node now.
func (a *Agent) Sources() []republish.Source {
	srcs := append([]republish.Source(nil), a.kubelet...)
	if a.ksm != nil && a.ksm.synced() {
		srcs = append(srcs, a.ksm.sources()...)
	}
	return srcs
}

// Start starts the informers and waits for their caches.
//
// It waits at most SyncTimeout: without RBAC for pods or nodes, or with the
// apiserver away, the kubelet is still scraped; kube-state-metrics pods are
// found once the pod list succeeds (client-go keeps retrying it).
func (a *Agent) Start(ctx context.Context) error {
	if a.nodes == nil {
		return nil
	}
	a.nodes.Start(ctx.Done())
	if a.ksm != nil {
		a.ksm.factory.Start(ctx.Done())
	}
	timeout := a.o.SyncTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !cache.WaitForCacheSync(wctx.Done(), a.synced...) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		level.Warn(a.o.Logger).Log("msg", "the Node and pod informers have not synced (RBAC for nodes and pods list/watch? apiserver reachable?); scraping the kubelet meanwhile", "timeout", timeout)
		return nil
	}
	if a.node() == nil {
		level.Warn(a.o.Logger).Log("msg", "this node's Node object was not found; host info uses /proc only", "node", a.o.Node)
	}
	return nil
}

// ScrapeOnce runs one scrape round of every current source.
func (a *Agent) ScrapeOnce(ctx context.Context) {
	a.rep.ScrapeAll(ctx, a.Sources())
	a.ready.Store(true)
	if a.o.AfterRound != nil {
		a.o.AfterRound(ctx, a.rep.Pages())
	}
}

// Run starts the informers, waits for their caches, and scrapes every
// interval until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.Start(ctx); err != nil {
		return err
	}
	level.Info(a.o.Logger).Log("msg", "scraping", "kubelet", a.kubelet[0].URL, "interval", a.o.Interval, "kube_state_metrics", a.ksm != nil)
	t := time.NewTicker(a.o.Interval)
	defer t.Stop()
	for {
		a.ScrapeOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Ready reports whether the first scrape round has completed.
func (a *Agent) Ready() bool { return a.ready.Load() }

// Handler serves the republished series followed by g's metrics.
func (a *Agent) Handler(g prometheus.Gatherer) http.Handler {
	return republish.NewHandler(a.rep, g, a.o.Logger)
}

// Republisher exposes the agent's republisher (tests, push).
func (a *Agent) Republisher() *republish.Republisher { return a.rep }

// Resolver exposes the agent's URN resolver.
func (a *Agent) Resolver() *Resolver { return a.res }
