package topology

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The helpers below turn a Result into sorted lines so that a test compares
// everything an object contributes: a missing or an extra component or
// relation fails, and so does a duplicate.
//
//	component <type> <urn> ns=<namespace> name=<name> uid=<uid> identity=[k=v ...] labels={k=v ...}|labels=nil
//	relation <type> <sourceType> <source> -> <targetType> <target> [k=v ...]

const testCluster = "prod"

var testURNs = NewURNs(testCluster)

func renderResult(r Result) []string {
	out := make([]string, 0, len(r.Components)+len(r.Relations))
	for _, c := range r.Components {
		out = append(out, renderComponent(c))
	}
	for _, rel := range r.Relations {
		out = append(out, renderRelation(rel))
	}
	sort.Strings(out)
	return out
}

func renderComponent(c Component) string {
	labels := "labels=nil"
	if c.Labels != nil {
		kv := make([]string, 0, len(c.Labels))
		for k, v := range c.Labels {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		labels = "labels={" + strings.Join(kv, " ") + "}"
	}
	return fmt.Sprintf("component %s %s ns=%s name=%s uid=%s identity=%s %s",
		c.Type, c.URN, c.Namespace, c.Name, c.UID, renderLabels(c.Identity), labels)
}

func renderRelation(r Relation) string {
	s := fmt.Sprintf("relation %s %s %s -> %s %s", r.Type, r.SourceType, r.Source, r.TargetType, r.Target)
	if len(r.Attrs) > 0 {
		s += " " + renderLabels(r.Attrs)
	}
	return s
}

func renderLabels(ls []Label) string {
	kv := make([]string, 0, len(ls))
	for _, l := range ls {
		kv = append(kv, l.Name+"="+l.Value)
	}
	sort.Strings(kv)
	return "[" + strings.Join(kv, " ") + "]"
}

// assertResult fails the test, with a line diff, unless got renders exactly
// as want (in any order).
func assertResult(t *testing.T, got Result, want []string) {
	t.Helper()
	assertLines(t, renderResult(got), want)
}

func assertLines(t *testing.T, got, want []string) {
	t.Helper()
	want = slices.Clone(want)
	sort.Strings(want)
	if slices.Equal(got, want) {
		return
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || (i < len(got) && got[i] < want[j]):
			fmt.Fprintf(&b, "+ %s\n", got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			fmt.Fprintf(&b, "- %s\n", want[j])
			j++
		default:
			fmt.Fprintf(&b, "  %s\n", got[i])
			i++
			j++
		}
	}
	t.Errorf("result mismatch (- want, + got):\n%s", b.String())
}

// objectMeta is the metadata of a test object.
func objectMeta(namespace, name, uid string, labels map[string]string, owners ...metav1.OwnerReference) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: namespace, Name: name, UID: types.UID(uid), Labels: labels, OwnerReferences: owners,
	}
}

// controllerRef is an owner reference that is the object's controller.
func controllerRef(apiVersion, kind, name string) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(name + "-uid"), Controller: &yes}
}

// ownerRef is an owner reference that is not the object's controller.
func ownerRef(apiVersion, kind, name string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(name + "-uid")}
}

func ptrTo[T any](v T) *T { return &v }

func TestAssertLinesDiff(t *testing.T) {
	// The helper itself: equal sets pass whatever the order, and the
	// renderer keeps nil and empty label maps apart.
	r := Result{
		Components: []Component{
			{URN: "b", Type: "x", Labels: map[string]string{}},
			{URN: "a", Type: "x"},
		},
		Relations: []Relation{{Type: "t", Source: "a", SourceType: "x", Target: "b", TargetType: "x", Attrs: []Label{{"z", "1"}, {"a", "2"}}}},
	}
	assertResult(t, r, []string{
		"relation t x a -> x b [a=2 z=1]",
		"component x b ns= name= uid= identity=[] labels={}",
		"component x a ns= name= uid= identity=[] labels=nil",
	})
}
