package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/topology"
)

// Exposition is a store's topology, parsed back from its rendered series.
type Exposition struct {
	// Components maps each component's URN to its series' labels.
	Components map[string]map[string]string
	// Relations holds each relation series' labels.
	Relations []map[string]string
}

// Parse reads the topology families of a /metrics exposition.
func Parse(r io.Reader) (*Exposition, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	labels := func(m *dto.Metric) map[string]string {
		out := make(map[string]string, len(m.GetLabel()))
		for _, l := range m.GetLabel() {
			out[l.GetName()] = l.GetValue()
		}
		return out
	}
	e := &Exposition{Components: map[string]map[string]string{}}
	if mf := mfs[exporter.ComponentInfo]; mf != nil {
		for _, m := range mf.GetMetric() {
			l := labels(m)
			e.Components[l["urn"]] = l
		}
	}
	if mf := mfs[exporter.RelationInfo]; mf != nil {
		for _, m := range mf.GetMetric() {
			e.Relations = append(e.Relations, labels(m))
		}
	}
	return e, nil
}

// ParseStore renders store and parses it back.
func ParseStore(store *exporter.Store) (*Exposition, error) {
	var buf bytes.Buffer
	if _, err := store.WriteTo(&buf); err != nil {
		return nil, err
	}
	return Parse(&buf)
}

// WaitSettled polls until idle reports true and store shows the simulated
// cluster exactly (see Diff), or fails after timeout with what still
// differs. Idle alone is not enough: it cannot count watch events still on
// their way from the API to the informers.
func (s *Simulator) WaitSettled(ctx context.Context, cluster string, idle func() bool, store *exporter.Store, timeout time.Duration) error {
	var diff string
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if !idle() {
			diff = "the agent is not idle"
			return false, nil
		}
		var err error
		diff, err = s.Diff(ctx, cluster, store)
		return err == nil && diff == "", err
	})
	if err != nil {
		return fmt.Errorf("the topology did not settle within %v: %w; %s", timeout, err, diff)
	}
	return nil
}

// Diff compares store with the topology of every object the simulated
// cluster holds: the same components with the same UIDs, and every relation
// the objects declare, no other but the Service → Pod relations the agent
// derives from selectors. It returns "" when they match.
func (s *Simulator) Diff(ctx context.Context, cluster string, store *exporter.Store) (string, error) {
	u := topology.NewURNs(cluster)
	want := map[string]string{u.Cluster(): ""}
	wantRels := map[string]bool{}
	var rels []topology.Relation
	for _, k := range topology.Kinds() {
		objs, err := s.list(ctx, k)
		if err != nil {
			return "", err
		}
		for _, obj := range objs {
			res, err := k.Map(u, obj)
			if err != nil {
				return "", err
			}
			for _, c := range res.Components {
				want[c.URN] = c.UID
			}
			rels = append(rels, res.Relations...)
		}
	}
	for _, r := range rels {
		_, src := want[r.Source]
		_, tgt := want[r.Target]
		if src && tgt {
			wantRels[relKey(r.Type, r.Source, r.Target)] = true
		}
	}
	got, err := ParseStore(store)
	if err != nil {
		return "", err
	}
	var diffs []string
	for urn, uid := range want {
		if l, ok := got.Components[urn]; !ok {
			diffs = append(diffs, "missing component "+urn)
		} else if l["uid"] != uid {
			diffs = append(diffs, fmt.Sprintf("component %s has uid %q, want %q", urn, l["uid"], uid))
		}
	}
	for urn := range got.Components {
		if _, ok := want[urn]; !ok {
			diffs = append(diffs, "extra component "+urn)
		}
	}
	gotRels := map[string]bool{}
	for _, l := range got.Relations {
		k := relKey(l["type"], l["source_urn"], l["target_urn"])
		gotRels[k] = true
		joined := l["type"] == topology.RelExposes && l["source_type"] == topology.TypeService && l["target_type"] == topology.TypePod
		if !wantRels[k] && !joined {
			diffs = append(diffs, "extra relation "+k)
		}
	}
	for k := range wantRels {
		if !gotRels[k] {
			diffs = append(diffs, "missing relation "+k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("and %d more", len(diffs)-10))
	}
	return strings.Join(diffs, "; "), nil
}

func relKey(typ, src, tgt string) string { return src + " -" + typ + "-> " + tgt }

// list returns the objects of one kind, as the agent's informers see them.
func (s *Simulator) list(ctx context.Context, k topology.Kind) ([]runtime.Object, error) {
	if k.MetadataOnly {
		l, err := s.md.Resource(k.GVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		out := make([]runtime.Object, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	}
	gvk, ok := s.kinds[k.GVR]
	if !ok {
		return nil, fmt.Errorf("no kind known for %s", k.GVR)
	}
	l, err := s.client.Tracker().List(k.GVR, gvk, metav1.NamespaceAll)
	if err != nil {
		return nil, err
	}
	return meta.ExtractList(l)
}

// typedKinds maps the resources of client-go's scheme to their kinds.
func typedKinds() map[schema.GroupVersionResource]schema.GroupVersionKind {
	out := map[schema.GroupVersionResource]schema.GroupVersionKind{}
	for gvk := range clientgoscheme.Scheme.AllKnownTypes() {
		if strings.HasSuffix(gvk.Kind, "List") {
			continue
		}
		gvr, _ := meta.UnsafeGuessKindToResource(gvk)
		out[gvr] = gvk
	}
	return out
}
