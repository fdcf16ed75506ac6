package nodeagent

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubetopo/kubetopo/internal/push"
	"github.com/kubetopo/kubetopo/internal/standin"
)

// The field selector (spec.nodeName) is the apiserver's job and is proven
// against a real one in test/nodeagent; the fake clientset ignores field
// selectors, so every pod here is on the agent's node.
func TestKSMDiscovery(t *testing.T) {
	running := ksmPod("ksm-a", "kwok-node-0", 8080, corev1.PodRunning)
	pending := ksmPod("ksm-pending", "kwok-node-0", 8080, corev1.PodPending)
	noPort := ksmPod("ksm-noport", "kwok-node-0", 8080, corev1.PodRunning)
	noPort.Spec.Containers[0].Ports = noPort.Spec.Containers[0].Ports[1:]
	noIP := ksmPod("ksm-noip", "kwok-node-0", 8080, corev1.PodRunning)
	noIP.Status.PodIP = ""
	terminating := ksmPod("ksm-terminating", "kwok-node-0", 8080, corev1.PodRunning)
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	terminating.Finalizers = []string{"x"}
	otherApp := ksmPod("not-ksm", "kwok-node-0", 8080, corev1.PodRunning)
	otherApp.Labels = map[string]string{"app.kubernetes.io/name": "something-else"}

	cs := fake.NewSimpleClientset([]runtime.Object{running, pending, noPort, noIP, terminating, otherApp}...)
	d, err := newKSMDiscovery(KSMOptions{}, cs, "kwok-node-0", "c1", NewResolver("c1", "kwok-node-0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.factory.Start(ctx.Done())
	d.factory.WaitForCacheSync(ctx.Done())
	var got []string
	for _, s := range d.sources() {
		got = append(got, s.Name+" "+s.URL)
	}
	want := []string{"kube-state-metrics/monitoring/ksm-a http://10.244.0.7:8080/metrics"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sources:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := newKSMDiscovery(KSMOptions{LabelSelector: "a in (b"}, cs, "n", "c1", nil); err == nil {
		t.Error("a bad selector was accepted")
	}
}

// TestTokenRotation: the token file is re-read on every scrape, so the
// kubelet accepts the agent again once the rotated token is in place.
func TestTokenRotation(t *testing.T) {
	ta := startAgent(t, readTestdata(t, "kube-state-metrics-v2.20.0.prom"))
	tokenFile := ta.agent.o.Kubelet.TokenFile
	ctx := context.Background()
	steps := []struct {
		token string
		ok    bool
	}{{"stale-token", false}, {"node-agent-token", true}}
	for _, s := range steps {
		if err := os.WriteFile(tokenFile, []byte(s.token), 0o600); err != nil {
			t.Fatal(err)
		}
		ta.agent.ScrapeOnce(ctx)
		if got := successes(t, ta.reg)["kubelet/metrics/cadvisor"]; got != s.ok {
			t.Errorf("token %q: success %v, want %v", s.token, got, s.ok)
		}
	}
	if ta.kubelet.Denied() == 0 {
		t.Error("the stale token was never refused")
	}
}

// TestPushSendsWhatIsServed pushes a round through the real push client to
// a remote-write endpoint and compares with what /metrics serves.
func TestPushSendsWhatIsServed(t *testing.T) {
	got := make(chan []prompb.TimeSeries, 16)
	rw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		got <- req.Timeseries
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rw.Close()
	client, err := push.New(push.Options{URL: rw.URL, Stream: "node-agent", Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	q, err := push.NewQueue(client, 16, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = q.Run(ctx) }()

	kubelet, err := standin.Start(standin.Options{Pages: map[string][]byte{"/metrics/resource": readTestdata(t, "kubelet-v1.33.13-metrics-resource.prom")}})
	if err != nil {
		t.Fatal(err)
	}
	defer kubelet.Close()
	host, port := splitURL(t, kubelet.URL)
	p := NewPusher(q, 10, nil)
	a, err := New(Options{Cluster: "c1", Node: "kwok-node-0", Kubelet: KubeletOptions{Scheme: "http", Host: host, Port: port, Endpoints: []string{"/metrics/resource"}}, AfterRound: p.AfterRound})
	if err != nil {
		t.Fatal(err)
	}
	a.ScrapeOnce(ctx)
	served := a.Republisher().Pages()["kubelet/metrics/resource"].Series
	var pushed []string
	for len(pushed) < served {
		select {
		case b := <-got:
			if len(b) > 10 {
				t.Errorf("batch of %d series, want at most 10", len(b))
			}
			for _, ts := range b {
				var ls []string
				urn := ""
				for _, l := range ts.Labels {
					ls = append(ls, l.Name+"="+l.Value)
					if l.Name == "urn" {
						urn = l.Value
					}
				}
				if urn == "" || len(ts.Samples) != 1 {
					t.Errorf("pushed series without urn or with %d samples: %v", len(ts.Samples), ls)
				}
				pushed = append(pushed, strings.Join(ls, ","))
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("pushed %d series of %d", len(pushed), served)
		}
	}
	sort.Strings(pushed)
	if len(pushed) != served || !strings.Contains(pushed[0], "__name__=container_cpu_usage_seconds_total,cluster=c1,container=") {
		t.Errorf("pushed %d series (first %q), served %d", len(pushed), pushed[0], served)
	}
}

// TestKubeletScrapedWithoutPodRBAC: when the pod list is forbidden, the
// agent does not wait forever: the kubelet is scraped, KSM is not.
func TestKubeletScrapedWithoutPodRBAC(t *testing.T) {
	kubelet, err := standin.Start(standin.Options{Pages: map[string][]byte{"/metrics/resource": readTestdata(t, "kubelet-v1.33.13-metrics-resource.prom")}})
	if err != nil {
		t.Fatal(err)
	}
	defer kubelet.Close()
	cs := fake.NewSimpleClientset(ksmPod("ksm-a", "kwok-node-0", 8080, corev1.PodRunning))
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC: no list on pods"))
	})
	host, port := splitURL(t, kubelet.URL)
	reg := prometheus.NewRegistry()
	a, err := New(Options{
		Cluster: "c1", Node: "kwok-node-0", Client: cs, Registerer: reg, SyncTimeout: 300 * time.Millisecond,
		Kubelet: KubeletOptions{Scheme: "http", Host: host, Port: port, Endpoints: []string{"/metrics/resource"}},
		KSM:     KSMOptions{Enabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	a.ScrapeOnce(ctx)
	got := successes(t, reg)
	if len(got) != 1 || !got["kubelet/metrics/resource"] {
		t.Errorf("sources %v, want only the kubelet's, succeeding", got)
	}
}
