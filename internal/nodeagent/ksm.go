package nodeagent

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubetopo/kubetopo/internal/republish"
)

// KSMOptions say how to find kube-state-metrics pods on this node.
type KSMOptions struct {
	Enabled bool
	// LabelSelector selects kube-state-metrics pods
	// (default app.kubernetes.io/name=kube-state-metrics).
	LabelSelector string
	// PortName is the container port serving the metrics (default http-metrics).
	PortName string
	// Scheme is http (default) or https.
	Scheme string
	// HostOverride, when set, is dialled instead of the pod IP. Tests use it
	// to reach a stand-in on loopback; a real node agent leaves it empty.
	HostOverride string
	Timeout      time.Duration
	MaxBytes     int64
}

// ksmDiscovery watches the pods of this node that match the selector: a
// pod informer restricted by field selector spec.nodeName, so the agent
// never lists the cluster's pods.
type ksmDiscovery struct {
	o       KSMOptions
	cluster string
	res     *Resolver
	client  *http.Client
	factory informers.SharedInformerFactory
	lister  listersv1.PodLister
	synced  cache.InformerSynced
}

func newKSMDiscovery(o KSMOptions, cs kubernetes.Interface, node, cluster string, res *Resolver) (*ksmDiscovery, error) {
	if o.LabelSelector == "" {
		o.LabelSelector = "app.kubernetes.io/name=kube-state-metrics"
	}
	if _, err := labels.Parse(o.LabelSelector); err != nil {
		return nil, fmt.Errorf("--kube-state-metrics.selector: %w", err)
	}
	if o.PortName == "" {
		o.PortName = "http-metrics"
	}
	if o.Scheme == "" {
		o.Scheme = "http"
	}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
		lo.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", node).String()
		lo.LabelSelector = o.LabelSelector
	}))
	pods := f.Core().V1().Pods()
	d := &ksmDiscovery{
		o: o, cluster: cluster, res: res, factory: f,
		lister: pods.Lister(), synced: pods.Informer().HasSynced,
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	return d, nil
}

// sources returns one source per running kube-state-metrics pod with a
// metrics port and an IP, in a stable order.
func (d *ksmDiscovery) sources() []republish.Source {
	pods, err := d.lister.List(labels.Everything())
	if err != nil {
		return nil
	}
	sort.Slice(pods, func(i, j int) bool {
		return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name
	})
	var srcs []republish.Source
	for _, p := range pods {
		port, ok := namedPort(p, d.o.PortName)
		host := p.Status.PodIP
		if d.o.HostOverride != "" {
			host = d.o.HostOverride
		}
		if !ok || host == "" || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		srcs = append(srcs, republish.Source{
			Name:    "kube-state-metrics/" + p.Namespace + "/" + p.Name,
			URL:     d.o.Scheme + "://" + net.JoinHostPort(host, strconv.Itoa(int(port))) + "/metrics",
			Client:  d.client,
			Timeout: d.o.Timeout, MaxBytes: d.o.MaxBytes,
			Render: republish.RenderOptions{Cluster: d.cluster, Resolve: d.res.KSM},
		})
	}
	return srcs
}

func namedPort(p *corev1.Pod, name string) (int32, bool) {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == name && port.ContainerPort > 0 {
				return port.ContainerPort, true
			}
		}
	}
	return 0, false
}
