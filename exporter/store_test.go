package exporter

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/kubetopo/kubetopo/topology"
)

func render(t *testing.T, s *Store) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

func comp(urn, typ string) topology.Component {
	return topology.Component{URN: urn, Type: typ, Name: urn}
}

func rel(typ, src, tgt string) topology.Relation {
	return topology.Relation{Type: typ, Source: src, SourceType: "a", Target: tgt, TargetType: "b"}
}

func info(urn, typ string) string {
	return `kubetopo_component_info{cluster="c",urn="` + urn + `",type="` + typ + `",name="` + urn + `"} 1`
}

func relLine(typ, src, tgt string) string {
	return `kubetopo_relation_info{cluster="c",type="` + typ + `",source_urn="` + src + `",target_urn="` + tgt + `",source_type="a",target_type="b"} 1`
}

func TestStore(t *testing.T) {
	type step struct {
		update string // owner to update (with res), or
		res    topology.Result
		delete string // owner to delete
	}
	cases := []struct {
		name  string
		steps []step
		want  []string
	}{
		{
			name: "a relation waits for both ends",
			steps: []step{
				{update: "pod", res: topology.Result{Components: []topology.Component{comp("p", "pod")}, Relations: []topology.Relation{rel("scheduled_on", "p", "n")}}},
			},
			want: []string{info("p", "pod")},
		},
		{
			name: "the second end arriving publishes the relation",
			steps: []step{
				{update: "pod", res: topology.Result{Components: []topology.Component{comp("p", "pod")}, Relations: []topology.Relation{rel("scheduled_on", "p", "n")}}},
				{update: "node", res: topology.Result{Components: []topology.Component{comp("n", "node")}}},
			},
			want: []string{info("n", "node"), info("p", "pod"), relLine("scheduled_on", "p", "n")},
		},
		{
			name: "an end going away hides the relation",
			steps: []step{
				{update: "pod", res: topology.Result{Components: []topology.Component{comp("p", "pod")}, Relations: []topology.Relation{rel("scheduled_on", "p", "n")}}},
				{update: "node", res: topology.Result{Components: []topology.Component{comp("n", "node")}}},
				{delete: "node"},
			},
			want: []string{info("p", "pod")},
		},
		{
			name: "a shared component lives until its last owner lets go",
			steps: []step{
				{update: "pod1", res: topology.Result{Components: []topology.Component{comp("p1", "pod"), comp("vol", "volume")}, Relations: []topology.Relation{rel("claims", "p1", "vol")}}},
				{update: "pod2", res: topology.Result{Components: []topology.Component{comp("p2", "pod"), comp("vol", "volume")}, Relations: []topology.Relation{rel("claims", "p2", "vol")}}},
				{delete: "pod1"},
			},
			want: []string{info("p2", "pod"), info("vol", "volume"), relLine("claims", "p2", "vol")},
		},
		{
			name: "a relation two owners declare is one series and outlives one of them",
			steps: []step{
				{update: "a", res: topology.Result{Components: []topology.Component{comp("s", "service")}}},
				{update: "b", res: topology.Result{Components: []topology.Component{comp("p", "pod")}}},
				{update: "slice1", res: topology.Result{Relations: []topology.Relation{rel("exposes", "s", "p")}}},
				{update: "slice2", res: topology.Result{Relations: []topology.Relation{rel("exposes", "s", "p"), rel("exposes", "s", "p")}}},
				{delete: "slice1"},
			},
			want: []string{info("p", "pod"), info("s", "service"), relLine("exposes", "s", "p")},
		},
		{
			name: "an update replaces what the owner contributed",
			steps: []step{
				{update: "n", res: topology.Result{Components: []topology.Component{comp("n", "node")}}},
				{update: "pod", res: topology.Result{Components: []topology.Component{comp("p", "pod"), comp("c1", "container")}, Relations: []topology.Relation{rel("encloses", "p", "c1"), rel("scheduled_on", "p", "n")}}},
				{update: "pod", res: topology.Result{Components: []topology.Component{comp("p", "pod"), comp("c2", "container")}, Relations: []topology.Relation{rel("encloses", "p", "c2")}}},
			},
			want: []string{info("c2", "container"), info("n", "node"), info("p", "pod"), relLine("encloses", "p", "c2")},
		},
		{
			name: "deleting everything leaves nothing, deleting the unknown is harmless",
			steps: []step{
				{update: "pod", res: topology.Result{Components: []topology.Component{comp("p", "pod")}, Relations: []topology.Relation{rel("scheduled_on", "p", "n")}}},
				{delete: "pod"},
				{delete: "never-seen"},
			},
			want: nil,
		},
	}
	for _, tc := range cases {
		for _, collide := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/collide=%v", tc.name, collide), func(t *testing.T) {
				s := NewStore("c", nil)
				if collide {
					// Every relation hashes alike: the chains do all the work.
					s.hash = func(relKey) uint64 { return 42 }
				}
				for _, st := range tc.steps {
					if st.delete != "" {
						s.Delete(st.delete)
					} else {
						s.Update(st.update, st.res)
					}
				}
				got := render(t, s)
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
				if tc.want == nil && (len(s.comps) != 0 || len(s.rels) != 0 || len(s.owners) != 0) {
					t.Errorf("store keeps garbage: %d components, %d relations, %d owners", len(s.comps), len(s.rels), len(s.owners))
				}
			})
		}
	}
}

// renderRelation is the reference rendering of one relation line, label by
// label through appendLabel; the store renders relations from its entries at
// scrape time and must write exactly this.
func renderRelation(cluster string, r *topology.Relation) []byte {
	b := make([]byte, 0, 96+len(r.Source)+len(r.Target))
	b = append(b, RelationInfo...)
	b = append(b, '{')
	b = appendLabel(b, true, "cluster", cluster)
	b = appendLabel(b, false, "type", r.Type)
	b = appendLabel(b, false, "source_urn", r.Source)
	b = appendLabel(b, false, "target_urn", r.Target)
	b = appendLabel(b, false, "source_type", r.SourceType)
	b = appendLabel(b, false, "target_type", r.TargetType)
	for _, l := range r.Attrs {
		b = appendLabel(b, false, l.Name, l.Value)
	}
	return append(b, "} 1\n"...)
}

func TestRelationLines(t *testing.T) {
	mount := func(src, tgt, path string) topology.Relation {
		return topology.Relation{
			Type: "mounts", Source: src, SourceType: "container", Target: tgt, TargetType: "volume",
			Attrs: []topology.Label{{Name: "mount_path", Value: path}, {Name: "read_only", Value: "true"}},
		}
	}
	odd := `urn:x:host/"quoted"\back` + "\nnewline"
	rels := []topology.Relation{
		rel("scheduled_on", "p", "n"),
		rel("scheduled_on", "p", odd),
		mount("p", "n", "/etc/a"),
		mount("p", "n", `/weird "path"\`),
		{Type: `odd"type`, Source: "n", SourceType: `src\type`, Target: "p", TargetType: "t\nt"},
	}
	for _, cluster := range []string{"c", `cl"us\ter`} {
		s := NewStore(cluster, nil)
		if cluster != "c" {
			s.hash = func(relKey) uint64 { return 7 } // and every relation in one chain
		}
		s.Update("ends", topology.Result{Components: []topology.Component{comp("p", "pod"), comp("n", "node"), comp(odd, "node")}})
		s.Update("rels", topology.Result{Relations: rels})
		var want []string
		for i := range rels {
			want = append(want, strings.TrimSuffix(string(renderRelation(cluster, &rels[i])), "\n"))
		}
		sort.Strings(want)
		var got []string
		for _, l := range render(t, s) {
			if strings.HasPrefix(l, RelationInfo+"{") {
				got = append(got, l)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("cluster %q: got:\n%s\nwant:\n%s", cluster, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The mount moving to another path is another relation: the old
		// line goes, the new one comes.
		s.Update("rels", topology.Result{Relations: []topology.Relation{mount("p", "n", "/etc/b")}})
		got = got[:0]
		for _, l := range render(t, s) {
			if strings.HasPrefix(l, RelationInfo+"{") {
				got = append(got, l)
			}
		}
		m := mount("p", "n", "/etc/b")
		if w := strings.TrimSuffix(string(renderRelation(cluster, &m)), "\n"); len(got) != 1 || got[0] != w {
			t.Errorf("cluster %q after the update: got %q, want [%q]", cluster, got, w)
		}
		if len(s.relList) != 1 || len(s.rels) != 1 || len(s.comps) != 3 {
			t.Errorf("cluster %q: the store keeps %d relations (%d hashes) and %d components, want 1 and 3", cluster, len(s.relList), len(s.rels), len(s.comps))
		}
	}
}

func TestComponentLabels(t *testing.T) {
	filter, err := NewLabelFilter(nil, []string{"pod-template-hash", "*.internal/*"})
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore("c", filter)
	s.Update("pod", topology.Result{Components: []topology.Component{{
		URN: "p", Type: "pod", Namespace: "ns", Name: "p", UID: "u-1",
		Identity: []topology.Label{{Name: "pod", Value: "p"}},
		Labels: map[string]string{
			"app.kubernetes.io/name": "cart", "app_kubernetes_io/name": "other", "pod-template-hash": "abc",
			"team.internal/owner": "x", "quote": `a"b\c` + "\n",
		},
	}}})
	s.Update("container", topology.Result{Components: []topology.Component{{URN: "p:container/c", Type: "container", Name: "c"}}})
	got := strings.Join(render(t, s), "\n")
	for _, want := range []string{
		`kubetopo_component_info{cluster="c",urn="p",type="pod",namespace="ns",name="p",uid="u-1",pod="p"} 1`,
		`kubetopo_component_labels{cluster="c",urn="p",label_app_kubernetes_io_name="cart",label_app_kubernetes_io_name_conflict1="other",label_quote="a\"b\\c\n"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "pod-template-hash") || strings.Contains(got, "abc") || strings.Contains(got, "owner") {
		t.Errorf("denied labels published:\n%s", got)
	}
	if strings.Contains(got, `kubetopo_component_labels{cluster="c",urn="p:container/c"`) {
		t.Errorf("a component that is not a Kubernetes object got a labels series:\n%s", got)
	}
}

func TestLabelFilter(t *testing.T) {
	cases := []struct {
		allow, deny []string
		key         string
		want        bool
	}{
		{nil, nil, "anything", true},
		{[]string{"app", "app.kubernetes.io/*"}, nil, "app.kubernetes.io/name", true},
		{[]string{"app", "app.kubernetes.io/*"}, nil, "team", false},
		{[]string{"app*"}, []string{"app.kubernetes.io/instance"}, "app.kubernetes.io/instance", false},
		{nil, []string{"*hash"}, "pod-template-hash", false},
		{nil, []string{"*hash"}, "hashes", true},
		{[]string{"a.b"}, nil, "axb", false}, // '.' is literal
	}
	for _, tc := range cases {
		f, err := NewLabelFilter(tc.allow, tc.deny)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Allowed(tc.key); got != tc.want {
			t.Errorf("allow=%v deny=%v key=%q: got %v, want %v", tc.allow, tc.deny, tc.key, got, tc.want)
		}
	}
	var nilFilter *LabelFilter
	if !nilFilter.Allowed("x") {
		t.Error("a nil filter must allow everything")
	}
}

func TestCounts(t *testing.T) {
	s := NewStore("c", nil)
	s.Update("a", topology.Result{Components: []topology.Component{comp("p", "pod"), comp("n", "node")}, Relations: []topology.Relation{rel("scheduled_on", "p", "n"), rel("uses", "p", "missing")}})
	comps, rels := s.Counts()
	if comps["pod"] != 1 || comps["node"] != 1 || len(comps) != 2 {
		t.Errorf("components: %v", comps)
	}
	if rels["scheduled_on"] != 1 || len(rels) != 1 {
		t.Errorf("relations (dangling ones must not count): %v", rels)
	}
}
