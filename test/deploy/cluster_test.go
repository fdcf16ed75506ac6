//go:build integration

package deploy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

const (
	release   = "kubetopo"
	namespace = "kubetopo"
	// instanceSelector selects every object the release installed (the chart labels all of them).
	instanceSelector = "app.kubernetes.io/instance=" + release
)

// TestChartOnCluster installs the chart into a real cluster (controllers, kwok nodes), checks
// that its pods run, runs the cluster agent with the chart's ServiceAccount token and checks its
// RBAC both ways, upgrades to the no-Secrets variant and checks again, and uninstalls.
func TestChartOnCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := startCluster(t, ctx)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	kc := "--kubeconfig=" + c.Kubeconfig()
	installOperatorCRDs(t, ctx, cfg)

	out, err := helm(t, "install", release, chartDir(), kc, "--namespace", namespace, "--create-namespace",
		"--set-string", "cluster.name=testbed", "--set-string", "cluster.authToken=test-token",
		"--set-string", "apiKey=test-api-key", "--set", "receiver.enabled=true",
		"--wait", "--timeout", "3m")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "kubectl get deployment,daemonset --namespace "+namespace) {
		t.Errorf("helm install's NOTES do not say how to check the agents:\n%s", out)
	}
	// cluster agent, kube-state-metrics, receiver, a node agent on each of the 2 kwok nodes
	waitPodsRunning(t, ctx, client, 5)
	t.Run("Prometheus Operator objects where the API is served", func(t *testing.T) {
		dyn := dynamic.NewForConfigOrDie(cfg)
		want := map[string]int{"servicemonitors": 3, "podmonitors": 1, "prometheusrules": len(ruleFiles(t))}
		for res, n := range want {
			l, err := dyn.Resource(schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: res}).
				Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: instanceSelector})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Items) != n {
				t.Errorf("%d %s of the release, want %d", len(l.Items), res, n)
			}
		}
		cms, err := client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=rules," + instanceSelector})
		if err != nil || len(cms.Items) != 0 {
			t.Errorf("a rules ConfigMap although PrometheusRules are served: %v %v", cms, err)
		}
	})
	creds := secretFiles(t, ctx, client)

	t.Run("cluster agent with the chart's RBAC", func(t *testing.T) {
		run := clusterAgentRun()
		run.creds = creds
		used := runWithChartRBAC(t, ctx, c, client, run)
		if !hasResource(used, "secrets") {
			t.Errorf("with the default values the agent never watched secrets: %v", sortedAccesses(used))
		}
	})
	t.Run("a Prometheus outside the cluster with deploy/prometheus", func(t *testing.T) {
		outsidePrometheus(t, ctx, c, cfg, client, creds)
	})
	t.Run("node agent with the chart's RBAC", func(t *testing.T) {
		if _, ok := binary["kubetopo-node-agent"]; !ok {
			t.Skip("cmd/kubetopo-node-agent is not in this tree")
		}
		run := nodeAgentRun(t, ctx, client)
		run.creds = creds
		runWithChartRBAC(t, ctx, c, client, run)
	})

	out, err = helm(t, "upgrade", release, chartDir(), kc, "--namespace", namespace,
		"--values", filepath.Join(chartDir(), "ci", "no-secrets-values.yaml"),
		"--set-string", "cluster.name=testbed", "--wait", "--timeout", "3m")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Run("no-secrets variant with the chart's RBAC", func(t *testing.T) {
		used := runWithChartRBAC(t, ctx, c, client, clusterAgentRun())
		if hasResource(used, "secrets") {
			t.Errorf("with secrets off the agent still requested secrets: %v", sortedAccesses(used))
		}
	})

	t.Run("uninstall removes everything", func(t *testing.T) {
		dyn := dynamic.NewForConfigOrDie(cfg)
		disc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
		before := inventory(t, ctx, disc, dyn)
		for _, kind := range []string{"ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Deployment", "DaemonSet", "Pod", "Service", "ConfigMap", "ServiceMonitor", "PodMonitor", "PrometheusRule"} {
			if !strings.Contains(strings.Join(before, "\n"), kind+" ") {
				t.Fatalf("before uninstall the inventory has no %s, so it cannot prove removal:\n%s", kind, strings.Join(before, "\n"))
			}
		}
		if out, err := helm(t, "uninstall", release, kc, "--namespace", namespace, "--wait", "--timeout", "3m"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		poll(t, 2*time.Minute, "no object of the release left", func() (bool, string) {
			left := inventory(t, ctx, disc, dyn)
			return len(left) == 0, strings.Join(left, "\n")
		})
	})
}

// ruleFiles returns the chart's rule files.
func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir(), "files", "rules", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files in the chart (%v)", err)
	}
	return files
}

func clusterAgentRun() agentRun {
	return agentRun{component: "cluster-agent", check: checkNoListWatchErrors}
}

// nodeAgentRun runs the node agent as the DaemonSet's pod on kwok-node-0 would run, its
// kubelet a stand-in that authorizes like one.
func nodeAgentRun(t *testing.T, ctx context.Context, client kubernetes.Interface) agentRun {
	const node = "kwok-node-0"
	return agentRun{
		component: "node-agent", daemonSet: true,
		flags:   map[string]string{"path.procfs": "/proc"},
		env:     []string{"NODE_NAME=" + node, "NODE_IP=127.0.0.1"},
		kubelet: startKubeletStandIn(t, ctx, client, node),
		check: func(t *testing.T, exposition string) {
			var n int
			for _, line := range strings.Split(exposition, "\n") {
				if strings.HasPrefix(line, "kubetopo_scrape_source_success{") && strings.Contains(line, "kubelet") {
					n++
					if !strings.HasSuffix(line, " 1") {
						t.Errorf("a kubelet source failed with the chart's RBAC: %s", line)
					}
				}
			}
			if n == 0 {
				t.Errorf("no kubelet kubetopo_scrape_source_success series on the node agent's /metrics")
			}
		},
	}
}

func startCluster(t *testing.T, ctx context.Context) *testbed.Cluster {
	t.Helper()
	c, err := testbed.Start(ctx, testbed.Options{
		BinDir: binDir, StateDir: t.TempDir(), Controllers: true, KwokNodes: 2, Logf: t.Logf,
	})
	if err != nil {
		t.Fatalf("starting the test cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the test cluster: %v", err)
		}
	})
	return c
}

// waitPodsRunning waits until at least n pods of the release run on kwok nodes and none is
// pending.
func waitPodsRunning(t *testing.T, ctx context.Context, client kubernetes.Interface, n int) {
	t.Helper()
	poll(t, 2*time.Minute, fmt.Sprintf("%d pods of the release Running on kwok nodes", n), func() (bool, string) {
		pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: instanceSelector})
		if err != nil {
			return false, err.Error()
		}
		var running int
		var states []string
		for _, p := range pods.Items {
			states = append(states, fmt.Sprintf("%s %s on %q", p.Name, p.Status.Phase, p.Spec.NodeName))
			if p.Status.Phase == corev1.PodRunning && strings.HasPrefix(p.Spec.NodeName, "kwok-node-") {
				running++
			}
		}
		return running == len(pods.Items) && running >= n, strings.Join(states, "\n")
	})
}

// agentRun says how to run one component of the chart outside the cluster.
type agentRun struct {
	component string            // "cluster-agent", "node-agent"
	daemonSet bool              // the component is a DaemonSet (else a Deployment)
	flags     map[string]string // flags to replace or add (name without "--" → value)
	env       []string          // environment (what the downward API gives in the cluster)
	// kubelet, when set, is a kubelet stand-in whose authorized accesses count as the agent's.
	kubelet *kubeletStandIn
	// check inspects the agent's /metrics.
	check func(t *testing.T, exposition string)
	// creds, when set, holds the chart Secret's keys as files: the agent must push to the
	// chart's receiver (run locally with its Deployment's arguments) with them, and be accepted.
	creds string
}

// runWithChartRBAC runs the locally built binary of a component with the arguments of the
// chart's workload and a token of the chart's ServiceAccount, through the recorder. It checks
// that the agent gets ready with no refused request, and that the accesses it makes equal what
// the ServiceAccount is granted: nothing missing, nothing unused. It returns the accesses.
func runWithChartRBAC(t *testing.T, ctx context.Context, c *testbed.Cluster, client kubernetes.Interface, r agentRun) map[access]bool {
	t.Helper()
	name := release + "-" + r.component
	var spec corev1.PodSpec
	if r.daemonSet {
		ds, err := client.AppsV1().DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the chart's %s DaemonSet: %v", r.component, err)
		}
		spec = ds.Spec.Template.Spec
	} else {
		dep, err := client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the chart's %s Deployment: %v", r.component, err)
		}
		spec = dep.Spec.Template.Spec
	}
	cmd := filepath.Base(spec.Containers[0].Command[0])
	bin, ok := binary[cmd]
	if !ok {
		t.Fatalf("the chart runs %s, which this tree does not build", cmd)
	}
	sa := spec.ServiceAccountName
	tok, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for ServiceAccount %s: %v", sa, err)
	}
	rec := startRecorder(t, c.Server(), c.CAFile)
	dir := t.TempDir()
	kubeconfig := writeKubeconfig(t, rec.URL, rec.CA, tok.Status.Token)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(tok.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	flags := map[string]string{
		"web.listen-address": "127.0.0.1:" + strconv.Itoa(port),
		"kubeconfig":         kubeconfig,
	}
	if r.kubelet != nil {
		flags["kubelet.host"], flags["kubelet.port"] = "127.0.0.1", strconv.Itoa(r.kubelet.port)
		flags["kubelet.token-file"] = tokenFile
	}
	var rcv *receiverProc
	if r.creds != "" {
		rcv = startChartReceiver(t, ctx, client, r.creds)
		flags["remote-write.url"] = rcv.url + "/api/v1/write"
	}
	for k, v := range r.flags {
		flags[k] = v
	}
	mounts := credentialMounts(r.creds)
	if mounts == nil {
		mounts = map[string]string{}
	}
	for _, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			if _, ok := mounts[m.MountPath]; !ok {
				mounts[m.MountPath] = t.TempDir() // an emptyDir, e.g. the event checkpoint's
			}
		}
	}
	args := remapPaths(replaceFlags(spec.Containers[0].Args, flags), mounts)
	agent := startProcess(t, bin, args, r.env)
	base := "http://127.0.0.1:" + strconv.Itoa(port)

	granted := grantsOf(t, ctx, client, sa)
	if len(granted) == 0 {
		t.Fatalf("ServiceAccount %s is granted nothing", sa)
	}
	accesses := func() map[access]bool {
		a := rec.Accesses()
		if r.kubelet != nil {
			for x := range r.kubelet.Accesses() {
				a[x] = true
			}
		}
		return a
	}
	forbidden := func() []string {
		f := rec.Forbidden()
		if r.kubelet != nil {
			f = append(f, r.kubelet.Forbidden()...)
		}
		return f
	}
	poll(t, 90*time.Second, r.component+" ready and every grant used", func() (bool, string) {
		if err := agent.exited(); err != nil {
			t.Fatalf("%s exited: %v\n%s", cmd, err, agent.logTail())
		}
		if f := forbidden(); len(f) > 0 {
			t.Fatalf("%s was refused with the chart's RBAC:\n%s", r.component, strings.Join(f, "\n"))
		}
		if code, _ := get(base + "/-/ready"); code != http.StatusOK {
			return false, fmt.Sprintf("/-/ready: %d\n%s", code, agent.logTail())
		}
		unused := minus(granted, accesses())
		return len(unused) == 0, "granted but not (yet) used:\n" + strings.Join(sortedAccesses(unused), "\n")
	})
	used := minus(accesses(), defaultAllowed(t, ctx, client, accesses()))
	if extra := minus(used, granted); len(extra) > 0 {
		t.Errorf("used but not granted (should have been refused):\n%s", strings.Join(sortedAccesses(extra), "\n"))
	}
	if unused := minus(granted, used); len(unused) > 0 {
		t.Errorf("granted but not used:\n%s", strings.Join(sortedAccesses(unused), "\n"))
	}
	if r.check != nil {
		_, metrics := get(base + "/metrics")
		r.check(t, metrics)
	}
	if rcv != nil {
		if !hasArg(args, "--remote-write.api-key-file=") {
			t.Errorf("the chart gives %s no --remote-write.api-key-file although it pushes", r.component)
		}
		poll(t, 60*time.Second, r.component+" pushes to the chart's receiver with the chart's credentials", func() (bool, string) {
			_, m := get(rcv.url + "/metrics")
			if n := sumSeries(m, "kubetopo_receiver_rejected_requests_total", `reason="unauthorized"`); n > 0 {
				t.Fatalf("the receiver refused %v writes of %s as unauthorized", n, r.component)
			}
			ok := sumSeries(m, "kubetopo_receiver_requests_total", `code="204"`) + sumSeries(m, "kubetopo_receiver_requests_total", `code="200"`)
			return ok > 0, "no accepted write yet; receiver:\n" + rcv.proc.logTail()
		})
	}
	t.Logf("%s with ServiceAccount %s (args %q): %d accesses, all granted, every grant used: %s",
		r.component, sa, args, len(used), strings.Join(sortedAccesses(used), ", "))
	return used
}

// remapPaths points arguments that name a file under one of the pod's mounts (mount path →
// local dir) at the same file in the local dir.
func remapPaths(args []string, mounts map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for mount, dir := range mounts {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(v, mount+"/") {
				a = k + "=" + filepath.Join(dir, strings.TrimPrefix(v, mount+"/"))
			}
		}
		out[i] = a
	}
	return out
}

// credentialMounts are the chart's Secret mounts, served from the files secretFiles wrote.
func credentialMounts(creds string) map[string]string {
	if creds == "" {
		return nil
	}
	return map[string]string{"/etc/kubetopo/credentials": creds, "/etc/kubetopo/receiver": creds}
}

func hasArg(args []string, prefix string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

// sumSeries adds the values of the series of a metric whose labels contain match.
func sumSeries(exposition, metric, match string) float64 {
	var sum float64
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, metric+"{") || !strings.Contains(line, match) {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			v, err := strconv.ParseFloat(line[i+1:], 64)
			if err == nil {
				sum += v
			}
		}
	}
	return sum
}

// secretFiles writes every key of the chart's Secret to a file of that name, as the pods see
// them mounted.
func secretFiles(t *testing.T, ctx context.Context, client kubernetes.Interface) string {
	t.Helper()
	sec, err := client.CoreV1().Secrets(namespace).Get(ctx, release, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's Secret: %v", err)
	}
	dir := t.TempDir()
	for k, v := range sec.Data {
		if err := os.WriteFile(filepath.Join(dir, k), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type receiverProc struct {
	url  string
	proc *proc
}

// startChartReceiver runs the locally built receiver with the arguments of the chart's receiver
// Deployment, its key file from the chart's Secret.
func startChartReceiver(t *testing.T, ctx context.Context, client kubernetes.Interface, creds string) *receiverProc {
	t.Helper()
	bin, ok := binary["kubetopo-receiver"]
	if !ok {
		t.Fatal("the agents push, but cmd/kubetopo-receiver is not in this tree")
	}
	dep, err := client.AppsV1().Deployments(namespace).Get(ctx, release+"-receiver", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's receiver Deployment: %v", err)
	}
	if dep.Spec.Template.Spec.AutomountServiceAccountToken == nil || *dep.Spec.Template.Spec.AutomountServiceAccountToken {
		t.Errorf("the receiver gets a ServiceAccount token it does not need")
	}
	port := freePort(t)
	args := remapPaths(replaceFlags(dep.Spec.Template.Spec.Containers[0].Args,
		map[string]string{"web.listen-address": "127.0.0.1:" + strconv.Itoa(port)}), credentialMounts(creds))
	r := &receiverProc{url: "http://127.0.0.1:" + strconv.Itoa(port), proc: startProcess(t, bin, args, nil)}
	poll(t, 30*time.Second, "the chart's receiver ready", func() (bool, string) {
		if err := r.proc.exited(); err != nil {
			t.Fatalf("kubetopo-receiver %q: %v\n%s", args, err, r.proc.logTail())
		}
		code, _ := get(r.url + "/-/ready")
		return code == http.StatusOK, r.proc.logTail()
	})
	return r
}

// replaceFlags returns args with the given flags set: an existing --name=value is replaced,
// a missing one appended (sorted, for a stable command line).
func replaceFlags(args []string, flags map[string]string) []string {
	var out []string
	done := map[string]bool{}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if v, ok := flags[name]; ok {
			out = append(out, "--"+name+"="+v)
			done[name] = true
			continue
		}
		out = append(out, a)
	}
	var rest []string
	for name := range flags {
		if !done[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		out = append(out, "--"+name+"="+flags[name])
	}
	return out
}

// grantsOf returns what the ClusterRoleBindings and RoleBindings bind to the ServiceAccount.
func grantsOf(t *testing.T, ctx context.Context, client kubernetes.Interface, sa string) map[access]bool {
	t.Helper()
	out := map[access]bool{}
	bindsSA := func(subjects []rbacSubject) bool {
		for _, s := range subjects {
			if s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == namespace {
				return true
			}
		}
		return false
	}
	crbs, err := client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range crbs.Items {
		if !bindsSA(subjectsOf(b.Subjects)) {
			continue
		}
		role, err := client.RbacV1().ClusterRoles().Get(ctx, b.RoleRef.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for a := range grants(t, toUnstructuredRules(t, role.Rules)) {
			out[a] = true
		}
	}
	rbs, err := client.RbacV1().RoleBindings("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rbs.Items {
		if bindsSA(subjectsOf(b.Subjects)) {
			t.Errorf("RoleBinding %s/%s binds %s: the comparison covers ClusterRoleBindings only", b.Namespace, b.Name, sa)
		}
	}
	return out
}

// defaultAllowed returns the accesses a ServiceAccount without any binding of its own may make
// (discovery, /readyz, /version ...: the cluster's default roles), asked of the apiserver.
func defaultAllowed(t *testing.T, ctx context.Context, client kubernetes.Interface, accesses map[access]bool) map[access]bool {
	t.Helper()
	out := map[access]bool{}
	for a := range accesses {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + namespace + ":kubetopo-test-nobody",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
		}}
		if a.NonResourceURL != "" {
			sar.Spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: a.NonResourceURL, Verb: a.Verb}
		} else {
			res, sub, _ := strings.Cut(a.Resource, "/")
			sar.Spec.ResourceAttributes = &authorizationv1.ResourceAttributes{Group: a.Group, Resource: res, Subresource: sub, Verb: a.Verb}
		}
		got, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SubjectAccessReview: %v", err)
		}
		if got.Status.Allowed {
			out[a] = true
		}
	}
	return out
}

func checkNoListWatchErrors(t *testing.T, exposition string) {
	t.Helper()
	var n int
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, "kubetopo_list_watch_errors_total{") {
			continue
		}
		n++
		if !strings.HasSuffix(line, " 0") {
			t.Errorf("list/watch errors with the chart's RBAC: %s", line)
		}
	}
	if n == 0 {
		t.Errorf("no kubetopo_list_watch_errors_total series on /metrics")
	}
}

func hasResource(m map[access]bool, resource string) bool {
	for a := range m {
		if a.Resource == resource {
			return true
		}
	}
	return false
}

// inventory lists every object, namespaced or cluster-scoped, of every listable resource
// that carries the release's instance label.
func inventory(t *testing.T, ctx context.Context, disc discovery.DiscoveryInterface, dyn dynamic.Interface) []string {
	t.Helper()
	lists, err := disc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		t.Fatalf("discovery: %v", err)
	}
	var found []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !contains(r.Verbs, "list") {
				continue
			}
			objs, err := dyn.Resource(gv.WithResource(r.Name)).List(ctx, metav1.ListOptions{LabelSelector: instanceSelector})
			if err != nil {
				t.Fatalf("listing %s: %v", r.Name, err)
			}
			for _, o := range objs.Items {
				found = append(found, fmt.Sprintf("%s %s/%s", r.Kind, o.GetNamespace(), o.GetName()))
			}
		}
	}
	return found
}

// --- small helpers ---

type rbacSubject struct{ Kind, Name, Namespace string }

func subjectsOf[S any](subjects []S) []rbacSubject {
	var out []rbacSubject
	for _, s := range subjects {
		var x rbacSubject
		u, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(&s)
		x.Kind, _ = u["kind"].(string)
		x.Name, _ = u["name"].(string)
		x.Namespace, _ = u["namespace"].(string)
		out = append(out, x)
	}
	return out
}

func toUnstructuredRules[R any](t *testing.T, rules []R) []any {
	t.Helper()
	var out []any
	for _, r := range rules {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func writeKubeconfig(t *testing.T, server string, ca []byte, token string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testbed"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "testbed", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

type proc struct {
	log  string
	done chan struct{}
	err  error
}

func startProcess(t *testing.T, bin string, args, env []string) *proc {
	t.Helper()
	p := &proc{log: filepath.Join(t.TempDir(), "process.log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		f.Close()
	})
	return p
}

// exited returns an error once the process has ended.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("exited: %v", p.err)
	default:
		return nil
	}
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// poll checks cond until it holds or the timeout passes, then fails with its last explanation.
func poll(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s:\n%s", what, timeout, msg)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
