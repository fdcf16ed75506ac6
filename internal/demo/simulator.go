// Package demo runs kubetopo's cluster agent on an embedded, simulated
// cluster: the scenario's application held by fake clients, which a
// Simulator keeps changing the way a live cluster changes — Deployments
// scale, pods restart, a CronJob fires, a Deployment rolls out, a Secret is
// recreated. `make demo` is built on it, and so are tests that the topology
// stays connected while the cluster changes.
package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/metadata"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/kubetopo/kubetopo/internal/scenario"
)

// Options configure a Simulator.
type Options struct {
	// Rand drives every choice the simulator makes (required): a seeded one
	// makes a run reproducible.
	Rand *rand.Rand
	// Interval is the time between two changes in Run; zero means 2s.
	Interval time.Duration
	// Logger gets one info line per change; nil means no logging.
	Logger log.Logger
}

// Simulator holds the simulated cluster and changes it. Step and Run must
// not be called concurrently; the clients may be read from anywhere.
type Simulator struct {
	client   *kubefake.Clientset
	md       *metadatafake.FakeMetadataClient
	rnd      *rand.Rand
	interval time.Duration
	logger   log.Logger
	nodes    []string
	next     int // round-robin position in nodes
	kinds    map[schema.GroupVersionResource]schema.GroupVersionKind
	actions  []action
}

type action struct {
	name   string
	weight int
	do     func(context.Context) (string, error)
}

// Names of the scenario objects the simulator changes.
const (
	nsShop, nsPlatform = "shop", "platform"
	frontend, cart     = "frontend", "cart"
	cronJobName        = "nightly-report"
	debugShell         = "debug-shell"
	minFrontend        = 1
	maxFrontend        = 5
	keepJobs           = 3 // the CronJob's successful + failed history, as in Kubernetes
	keepOldRS          = 2 // a Deployment's revision history
)

// New returns a simulator holding scenario.Objects().
func New(opts Options) (*Simulator, error) {
	if opts.Rand == nil {
		return nil, errors.New("demo: Options.Rand is nil")
	}
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	client, md, err := scenario.Fake(scenario.Objects())
	if err != nil {
		return nil, err
	}
	s := &Simulator{client: client, md: md, rnd: opts.Rand, interval: opts.Interval, logger: opts.Logger, kinds: typedKinds()}
	nodes, err := client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("demo: list nodes: %w", err)
	}
	for _, n := range nodes.Items {
		s.nodes = append(s.nodes, n.Name)
	}
	sort.Strings(s.nodes)
	if len(s.nodes) == 0 {
		return nil, errors.New("demo: the scenario has no nodes")
	}
	s.actions = []action{
		{"scale", 4, s.scaleFrontend},
		{"restart", 3, s.restartPod},
		{"cronjob", 2, s.fireCronJob},
		{"debug-shell", 1, s.recreateDebugShell},
		{"rollout", 1, s.rolloutCart},
		{"recreate-config", 1, s.recreateConfig},
	}
	return s, nil
}

// Clients returns the simulated cluster's API, for the agent to watch.
func (s *Simulator) Clients() (kubernetes.Interface, metadata.Interface) { return s.client, s.md }

// Run makes one change every interval until ctx ends. A failed change is
// logged and the simulation goes on.
func (s *Simulator) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.Step(ctx); err != nil && ctx.Err() == nil {
				level.Warn(s.logger).Log("msg", "simulated change failed", "err", err)
			}
		}
	}
}

// Step makes one change to the cluster, chosen at random, and logs it.
func (s *Simulator) Step(ctx context.Context) error {
	total := 0
	for _, a := range s.actions {
		total += a.weight
	}
	n := s.rnd.IntN(total)
	a := s.actions[0]
	for _, a = range s.actions {
		if n < a.weight {
			break
		}
		n -= a.weight
	}
	what, err := a.do(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", a.name, err)
	}
	level.Info(s.logger).Log("msg", "cluster changed", "change", a.name, "what", what)
	return nil
}

// FrontendReplicas is the spec.replicas of shop/frontend's current ReplicaSet.
func (s *Simulator) FrontendReplicas(ctx context.Context) (int32, error) {
	d, err := s.client.AppsV1().Deployments(nsShop).Get(ctx, frontend, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	rs, _, err := s.replicaSets(ctx, d)
	if err != nil {
		return 0, err
	}
	return ptrValue(rs.Spec.Replicas), nil
}

// scaleFrontend scales shop/frontend to another size in [1, 5]: the
// Deployment, its current ReplicaSet, and the ReplicaSet's pods.
func (s *Simulator) scaleFrontend(ctx context.Context) (string, error) {
	deps := s.client.AppsV1().Deployments(nsShop)
	d, err := deps.Get(ctx, frontend, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	from := ptrValue(d.Spec.Replicas)
	to := from
	for to == from {
		to = minFrontend + s.rnd.Int32N(maxFrontend-minFrontend+1)
	}
	d.Spec.Replicas = &to
	if _, err := deps.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		return "", err
	}
	rs, _, err := s.replicaSets(ctx, d)
	if err != nil {
		return "", err
	}
	rs.Spec.Replicas = &to
	if rs, err = s.client.AppsV1().ReplicaSets(nsShop).Update(ctx, rs, metav1.UpdateOptions{}); err != nil {
		return "", err
	}
	pods, err := s.podsOf(ctx, nsShop, "ReplicaSet", rs.Name)
	if err != nil {
		return "", err
	}
	var created, deleted []string
	for len(pods) > int(to) {
		i := s.rnd.IntN(len(pods))
		if err := s.deletePod(ctx, &pods[i]); err != nil {
			return "", err
		}
		deleted = append(deleted, pods[i].Name)
		pods = append(pods[:i], pods[i+1:]...)
	}
	for len(pods) < int(to) {
		var tmpl *corev1.Pod
		if len(pods) > 0 {
			tmpl = &pods[0]
		} else {
			tmpl = podFrom(rs.Namespace, &rs.Spec.Template)
		}
		p, err := s.createPod(ctx, tmpl, rs.Name, controllerRef("apps/v1", "ReplicaSet", rs))
		if err != nil {
			return "", err
		}
		created = append(created, p.Name+" on "+p.Spec.NodeName)
		pods = append(pods, *p)
	}
	return fmt.Sprintf("scaled Deployment %s/%s from %d to %d replicas (ReplicaSet %s: created %s; deleted %s)",
		nsShop, frontend, from, to, rs.Name, names(created), names(deleted)), nil
}

// restartPod deletes a pod of a ReplicaSet, which replaces it with a new one.
func (s *Simulator) restartPod(ctx context.Context) (string, error) {
	all, err := s.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	var pods []corev1.Pod
	for _, p := range all.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.Kind == "ReplicaSet" {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		return "no ReplicaSet pod to restart", nil
	}
	old := &pods[s.rnd.IntN(len(pods))]
	ref := *metav1.GetControllerOf(old)
	if err := s.deletePod(ctx, old); err != nil {
		return "", err
	}
	p, err := s.createPod(ctx, old, ref.Name, ref)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("restarted Pod %s/%s: ReplicaSet %s replaced it with %s on %s",
		old.Namespace, old.Name, ref.Name, p.Name, p.Spec.NodeName), nil
}

// recreateDebugShell deletes the bare pod shop/debug-shell and runs it again.
func (s *Simulator) recreateDebugShell(ctx context.Context) (string, error) {
	old, err := s.client.CoreV1().Pods(nsShop).Get(ctx, debugShell, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if err := s.deletePod(ctx, old); err != nil {
		return "", err
	}
	p := s.newPod(old, debugShell)
	if p, err = s.client.CoreV1().Pods(nsShop).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	return fmt.Sprintf("recreated bare Pod %s/%s on %s (uid %s)", nsShop, debugShell, p.Spec.NodeName, p.UID), nil
}

// recreateConfig deletes a ConfigMap or Secret of the shop namespace and
// creates it again, as an operator rotating it would: same name, new UID.
func (s *Simulator) recreateConfig(ctx context.Context) (string, error) {
	type res struct {
		gvr  schema.GroupVersionResource
		item metav1.PartialObjectMetadata
	}
	var all []res
	for _, r := range []string{"configmaps", "secrets"} {
		gvr := corev1.SchemeGroupVersion.WithResource(r)
		list, err := s.md.Resource(gvr).Namespace(nsShop).List(ctx, metav1.ListOptions{})
		if err != nil {
			return "", err
		}
		for _, it := range list.Items {
			all = append(all, res{gvr, it})
		}
	}
	if len(all) == 0 {
		return "no ConfigMap or Secret to recreate", nil
	}
	r := all[s.rnd.IntN(len(all))]
	c, ok := s.md.Resource(r.gvr).Namespace(nsShop).(metadatafake.MetadataClient)
	if !ok {
		return "", errors.New("the metadata client cannot create objects")
	}
	if err := c.Delete(ctx, r.item.Name, metav1.DeleteOptions{}); err != nil {
		return "", err
	}
	obj := &metav1.PartialObjectMetadata{TypeMeta: r.item.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Namespace: r.item.Namespace, Name: r.item.Name, UID: s.uid(),
		Labels: r.item.Labels, Annotations: r.item.Annotations, OwnerReferences: r.item.OwnerReferences,
	}}
	if _, err := c.CreateFake(obj, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	return fmt.Sprintf("recreated %s %s/%s (uid %s)", r.item.Kind, nsShop, obj.Name, obj.UID), nil
}

// replicaSets returns d's current ReplicaSet (the newest revision, preferring
// one that has replicas) and its old ones, oldest first.
func (s *Simulator) replicaSets(ctx context.Context, d metav1.Object) (cur *appsv1.ReplicaSet, old []appsv1.ReplicaSet, err error) {
	list, err := s.client.AppsV1().ReplicaSets(d.GetNamespace()).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	var mine []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if controlledBy(&rs, "Deployment", d.GetName()) {
			mine = append(mine, rs)
		}
	}
	if len(mine) == 0 {
		return nil, nil, fmt.Errorf("deployment %s/%s has no ReplicaSet", d.GetNamespace(), d.GetName())
	}
	sort.Slice(mine, func(i, j int) bool {
		a, b := &mine[i], &mine[j]
		if ra, rb := revision(a), revision(b); ra != rb {
			return ra < rb
		}
		if pa, pb := ptrValue(a.Spec.Replicas) > 0, ptrValue(b.Spec.Replicas) > 0; pa != pb {
			return !pa
		}
		return a.Name < b.Name
	})
	return &mine[len(mine)-1], mine[:len(mine)-1], nil
}

// podsOf returns the pods of ns whose controller is the named owner.
func (s *Simulator) podsOf(ctx context.Context, ns, kind, name string) ([]corev1.Pod, error) {
	list, err := s.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if controlledBy(&p, kind, name) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Simulator) deletePod(ctx context.Context, p *corev1.Pod) error {
	err := s.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// createPod creates a pod like tmpl named <prefix>-<5 random characters>,
// controlled by ref, on the next node.
func (s *Simulator) createPod(ctx context.Context, tmpl *corev1.Pod, prefix string, ref metav1.OwnerReference) (*corev1.Pod, error) {
	pods := s.client.CoreV1().Pods(tmpl.Namespace)
	for {
		name := prefix + "-" + s.randString(5)
		if _, err := pods.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			if err != nil {
				return nil, err
			}
			continue // taken
		}
		p := s.newPod(tmpl, name)
		p.OwnerReferences = []metav1.OwnerReference{ref}
		return pods.Create(ctx, p, metav1.CreateOptions{})
	}
}

// newPod returns a running pod with tmpl's labels and spec, a new UID, and
// the next node.
func (s *Simulator) newPod(tmpl *corev1.Pod, name string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: tmpl.Namespace, Name: name, UID: s.uid(),
			Labels: cloneMap(tmpl.Labels), OwnerReferences: tmpl.OwnerReferences,
		},
		Spec:   *tmpl.Spec.DeepCopy(),
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	p.Spec.NodeName = s.nextNode()
	return p
}

func (s *Simulator) nextNode() string {
	n := s.nodes[s.next%len(s.nodes)]
	s.next++
	return n
}

// alphabet is Kubernetes' for generated names: lowercase letters and digits
// without vowels and look-alikes.
const alphabet = "bcdfghjklmnpqrstvwxz2456789"

func (s *Simulator) randString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rnd.IntN(len(alphabet))]
	}
	return string(b)
}

// uid returns a random version-4 UUID, as the apiserver gives every object.
func (s *Simulator) uid() types.UID {
	hi, lo := s.rnd.Uint64(), s.rnd.Uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return types.UID(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff))
}
