//go:build integration

package dashboards

import (
	"bytes"
	"context"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubetopo/kubetopo/internal/standin"
)

const (
	ksmFixture      = "../../testdata/fixtures/kube-state-metrics-v2.20.0.prom"
	platformFixture = "../../testdata/fixtures/kube-state-metrics-v2.20.0-workload-platform.yaml"
	platformNS      = "platform"
)

// recorded is what the fixture says about the platform namespace's objects
// whose names the controllers generate.
type recorded struct {
	podOwner map[string][2]string // pod → owner kind, owner name
	podNode  map[string]string
	podUID   map[string]string
	rsOwner  map[string]string // replicaset → deployment
	jobs     []string
	slices   []string
}

func readRecorded(t *testing.T, exposition []byte) recorded {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(exposition))
	if err != nil {
		t.Fatalf("parsing %s: %v", ksmFixture, err)
	}
	r := recorded{podOwner: map[string][2]string{}, podNode: map[string]string{}, podUID: map[string]string{}, rsOwner: map[string]string{}}
	each := func(name string, f func(l map[string]string)) {
		for _, m := range fams[name].GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["namespace"] == platformNS {
				f(l)
			}
		}
	}
	each("kube_pod_owner", func(l map[string]string) {
		r.podOwner[l["pod"]] = [2]string{l["owner_kind"], l["owner_name"]}
		r.podUID[l["pod"]] = l["uid"]
	})
	each("kube_pod_info", func(l map[string]string) { r.podNode[l["pod"]] = l["node"] })
	each("kube_replicaset_owner", func(l map[string]string) { r.rsOwner[l["replicaset"]] = l["owner_name"] })
	each("kube_job_info", func(l map[string]string) { r.jobs = append(r.jobs, l["job_name"]) })
	each("kube_endpointslice_info", func(l map[string]string) { r.slices = append(r.slices, l["endpointslice"]) })
	sort.Strings(r.jobs)
	return r
}

// ksmPage is the recorded kube-state-metrics exposition with every
// generated name of the platform namespace (ReplicaSet hash, pod, Job and
// EndpointSlice suffixes) and every pod UID rewritten to the live cluster's
// objects, and without the series of the namespace that is not deployed.
func ksmPage(t *testing.T, ctx context.Context, c kubernetes.Interface) []byte {
	t.Helper()
	exposition, err := os.ReadFile(ksmFixture)
	if err != nil {
		t.Fatal(err)
	}
	rec := readRecorded(t, exposition)
	names, uids := map[string]string{}, map[string]string{}

	rss, err := c.AppsV1().ReplicaSets(platformNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	liveRS := map[string]string{} // deployment → its ReplicaSet with replicas
	for _, rs := range rss.Items {
		for _, o := range rs.OwnerReferences {
			if o.Kind == "Deployment" && rs.Spec.Replicas != nil && *rs.Spec.Replicas > 0 {
				liveRS[o.Name] = rs.Name
			}
		}
	}
	for rs, dep := range rec.rsOwner {
		if live, ok := liveRS[dep]; ok {
			names[rs] = live
		}
	}
	jobs, err := c.BatchV1().Jobs(platformNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var liveJobs []string
	for _, j := range jobs.Items {
		liveJobs = append(liveJobs, j.Name)
	}
	sort.Strings(liveJobs)
	for i, j := range rec.jobs {
		if i < len(liveJobs) {
			names[j] = liveJobs[i]
		}
	}

	pods, err := c.CoreV1().Pods(platformNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type livePod struct{ name, uid, node string }
	byOwner := map[string][]livePod{} // owner name → pods, by name
	for _, p := range pods.Items {
		for _, o := range p.OwnerReferences {
			byOwner[o.Name] = append(byOwner[o.Name], livePod{p.Name, string(p.UID), p.Spec.NodeName})
		}
	}
	for _, ps := range byOwner {
		sort.Slice(ps, func(i, j int) bool { return ps[i].name < ps[j].name })
	}
	var fixturePods []string
	for p := range rec.podOwner {
		fixturePods = append(fixturePods, p)
	}
	sort.Strings(fixturePods)
	used := map[string]int{}
	for _, fp := range fixturePods {
		kind, owner := rec.podOwner[fp][0], rec.podOwner[fp][1]
		liveOwner := owner
		if n, ok := names[owner]; ok {
			liveOwner = n
		}
		var match *livePod
		for i, lp := range byOwner[liveOwner] {
			switch kind {
			case "StatefulSet":
				if lp.name == fp {
					match = &byOwner[liveOwner][i]
				}
			case "DaemonSet":
				if lp.node == rec.podNode[fp] {
					match = &byOwner[liveOwner][i]
				}
			}
		}
		if kind != "StatefulSet" && kind != "DaemonSet" && used[liveOwner] < len(byOwner[liveOwner]) {
			match = &byOwner[liveOwner][used[liveOwner]]
			used[liveOwner]++
		}
		if match != nil {
			names[fp] = match.name
			uids[rec.podUID[fp]] = match.uid
		}
	}

	slices, err := c.DiscoveryV1().EndpointSlices(platformNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	liveSlice := map[string]string{}
	for _, s := range slices.Items {
		liveSlice[s.Labels["kubernetes.io/service-name"]] = s.Name
	}
	for _, s := range rec.slices {
		if i := strings.LastIndex(s, "-"); i > 0 {
			if live, ok := liveSlice[s[:i]]; ok {
				names[s] = live
			}
		}
	}
	t.Logf("kube-state-metrics stand-in: %d recorded names mapped to the live cluster's: %v", len(names), names)

	rw := standin.Rewriter{
		Values: names,
		Labels: map[string]map[string]string{"uid": uids},
		// A series naming an object the live cluster lacks is left out.
		Required: []string{"pod", "replicaset", "job_name", "endpointslice"},
		Drop:     func(l labels.Labels) bool { return l.Get("namespace") == "boutique" },
	}
	page, err := rw.Rewrite(exposition)
	if err != nil {
		t.Fatalf("rewriting the KSM fixture: %v", err)
	}
	return page
}
