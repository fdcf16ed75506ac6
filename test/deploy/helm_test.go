//go:build integration

package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func chartDir() string { return filepath.Join(root, "deploy", "helm", "kubetopo") }

// kubeVersion is the Kubernetes version helm lint and template assume: the testbed's. (A helm
// built from its Go module without release ldflags would otherwise assume v1.20.)
const kubeVersion = "1.33.13"

// helm runs the testbed's helm with its own config, cache and data dirs.
func helm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if err != nil {
		return out.String() + stderr.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String(), nil
}

// ciValues returns the chart's ci/*-values.yaml files.
func ciValues(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir(), "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/*-values.yaml in the chart (%v)", err)
	}
	sort.Strings(files)
	return files
}

// render runs helm template and decodes every object.
func render(t testing.TB, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, append([]string{"template", "kubetopo", chartDir(), "--namespace", "kubetopo", "--kube-version", kubeVersion}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, out)
}

func decodeObjects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decoding rendered manifest: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

func TestChartLintAndTemplate(t *testing.T) {
	cases := map[string][]string{"default (--set cluster.name)": {"--set", "cluster.name=ci"}}
	for _, f := range ciValues(t) {
		cases[filepath.Base(f)] = []string{"--values", f}
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			if out, err := helm(t, append([]string{"lint", "--strict", chartDir(), "--kube-version", kubeVersion}, args...)...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			objs := render(t, args...)
			if len(objs) == 0 {
				t.Fatal("helm template rendered nothing")
			}
			checkObjects(t, objs)
			// The Prometheus Operator path renders too and stays valid.
			checkObjects(t, render(t, append(args, "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor",
				"--api-versions", "monitoring.coreos.com/v1/PrometheusRule")...))
		})
	}
}

func TestChartRequiresClusterName(t *testing.T) {
	out, err := helm(t, "template", "kubetopo", chartDir(), "--kube-version", kubeVersion)
	if err == nil {
		t.Fatal("helm template without cluster.name succeeded")
	}
	if !strings.Contains(out, "cluster.name is required") {
		t.Fatalf("the failure does not say what is missing:\n%s", out)
	}
	out, err = helm(t, "template", "kubetopo", chartDir(), "--kube-version", kubeVersion, "--set", "cluster.name=a:b")
	if err == nil || !strings.Contains(out, "/cluster/name") {
		t.Fatalf("a cluster name with ':' (the URN separator) passed the schema:\n%s", out)
	}
	out, err = helm(t, "template", "kubetopo", chartDir(), "--kube-version", kubeVersion, "--set", "cluster.name=x", "--set", "clusterAgent.collection.kubernetesResources.secret=false")
	if err == nil || !strings.Contains(out, "secret") {
		t.Fatalf("a misspelt resource toggle passed the schema:\n%s", out)
	}
}

// checkObjects checks what every rendering must satisfy: every kubetopo container's arguments
// parse with the real binary, pods run as non-root with a read-only root and no capabilities,
// no ClusterRole grants a wildcard or a write.
func checkObjects(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment", "DaemonSet", "StatefulSet":
			checkPodSpec(t, o)
		case "ClusterRole", "Role":
			rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
			for _, r := range rules {
				for _, field := range []string{"verbs", "resources", "apiGroups", "nonResourceURLs"} {
					vals, _, _ := unstructured.NestedStringSlice(r.(map[string]any), field)
					for _, v := range vals {
						if v == "*" {
							t.Errorf("%s %s grants %s: *", o.GetKind(), o.GetName(), field)
						}
						if field == "verbs" && v != "get" && v != "list" && v != "watch" {
							t.Errorf("%s %s grants the write verb %q", o.GetKind(), o.GetName(), v)
						}
					}
				}
			}
		}
	}
}

func checkPodSpec(t *testing.T, o *unstructured.Unstructured) {
	t.Helper()
	spec, _, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
	where := o.GetKind() + "/" + o.GetName()
	if hn, _ := spec["hostNetwork"].(bool); hn {
		t.Errorf("%s uses hostNetwork", where)
	}
	if nonRoot, _, _ := unstructured.NestedBool(spec, "securityContext", "runAsNonRoot"); !nonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", where)
	}
	containers, _, _ := unstructured.NestedSlice(spec, "containers")
	for _, c := range containers {
		c := c.(map[string]any)
		name := where + "/" + c["name"].(string)
		sc, _ := c["securityContext"].(map[string]any)
		if ro, _ := sc["readOnlyRootFilesystem"].(bool); !ro {
			t.Errorf("%s: readOnlyRootFilesystem is not true", name)
		}
		if p, _ := sc["privileged"].(bool); p {
			t.Errorf("%s is privileged", name)
		}
		if ape, ok := sc["allowPrivilegeEscalation"].(bool); !ok || ape {
			t.Errorf("%s: allowPrivilegeEscalation is not false", name)
		}
		if drop, _, _ := unstructured.NestedStringSlice(sc, "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
			t.Errorf("%s: capabilities.drop is %v, want [ALL]", name, drop)
		}
		command, _, _ := unstructured.NestedStringSlice(c, "command")
		if len(command) == 0 || !strings.HasPrefix(filepath.Base(command[0]), "kubetopo-") {
			continue
		}
		args, _, _ := unstructured.NestedStringSlice(c, "args")
		checkFlagsParse(t, name, filepath.Base(command[0]), append(command[1:], args...))
	}
}

// checkFlagsParse fails the test when the binary does not accept the rendered arguments.
func checkFlagsParse(t *testing.T, where, cmd string, args []string) {
	t.Helper()
	if err := parseFlags(cmd, args); err != nil {
		t.Errorf("%s: %v", where, err)
	}
}

// parseFlags runs the real binary with the arguments and --version: kingpin parses (and
// validates) every flag before it runs the version action and exits 0, so an unknown flag or a
// bad enum value fails here, with nothing started.
func parseFlags(cmd string, args []string) error {
	bin, ok := binary[cmd]
	if !ok {
		return fmt.Errorf("the chart runs %s, but cmd/%s does not exist in this tree", cmd, cmd)
	}
	out, err := exec.Command(bin, append(args, "--version")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s does not accept the chart's arguments %q: %v\n%s", cmd, args, err, out)
	}
	return nil
}

// TestFlagCheckCatchesBadArguments: the check above fails for a flag the binary lacks, so a
// template that passes it passes for a reason. (Flag values are not checked by it: kingpin runs
// --version before it reports a bad value. The schema's enums guard the values the chart sets,
// and TestChartOnCluster runs the agent with the rendered arguments.)
func TestFlagCheckCatchesBadArguments(t *testing.T) {
	for name, extra := range map[string]string{
		"unknown flag":           "--no-such-flag=1",
		"flag of another binary": "--telemetry-port=8081",
	} {
		t.Run(name, func(t *testing.T) {
			objs := render(t, "--set", "cluster.name=ci", "--set", "clusterAgent.extraArgs={"+extra+"}")
			var checked bool
			for _, o := range objs {
				if o.GetKind() != "Deployment" || o.GetName() != "kubetopo-cluster-agent" {
					continue
				}
				cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
				c := cs[0].(map[string]any)
				command, _, _ := unstructured.NestedStringSlice(c, "command")
				args, _, _ := unstructured.NestedStringSlice(c, "args")
				if err := parseFlags(filepath.Base(command[0]), args); err == nil {
					t.Errorf("the cluster agent accepted %s", extra)
				}
				checked = true
			}
			if !checked {
				t.Fatal("no cluster agent Deployment rendered")
			}
		})
	}
}

// TestChartNoSecretsVariant: with Secrets turned off, no ClusterRole of the release names them
// and the cluster agent is told not to watch them.
func TestChartNoSecretsVariant(t *testing.T) {
	objs := render(t, "--values", filepath.Join(chartDir(), "ci", "no-secrets-values.yaml"))
	sawRole, sawFlag := false, false
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole":
			sawRole = true
			rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
			for _, r := range rules {
				res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
				for _, x := range res {
					if x == "secrets" {
						t.Errorf("ClusterRole %s grants secrets", o.GetName())
					}
				}
			}
		case "Deployment":
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for _, c := range cs {
				args, _, _ := unstructured.NestedStringSlice(c.(map[string]any), "args")
				for _, a := range args {
					if a == "--resources.disable=secrets" {
						sawFlag = true
					}
				}
			}
		}
	}
	if !sawRole || !sawFlag {
		t.Fatalf("rendered ClusterRoles: %v, --resources.disable=secrets on the agent: %v", sawRole, sawFlag)
	}
}

// TestManifestsUpToDate: deploy/manifests is what deploy/render-manifests.sh renders now.
func TestManifestsUpToDate(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(root, "deploy", "manifests", "kubetopo.yaml"))
	if err != nil {
		t.Fatalf("%v: run `make manifests`", err)
	}
	cmd := exec.Command(filepath.Join(root, "deploy", "render-manifests.sh"), "-")
	cmd.Env = append(os.Environ(), "HELM="+helmBin, "HELM_CONFIG_HOME="+t.TempDir(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("render-manifests.sh: %v\n%s", err, stderr.String())
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("deploy/manifests/kubetopo.yaml is stale: run `make manifests` and commit it")
	}
}

// TestKubeStateMetricsRoleMatchesCollectors: kube-state-metrics is not on the Go proxy, so it
// cannot run here; its ClusterRole is checked against what it is told to do instead: list and
// watch on exactly the resources of its --resources flag (each collector lists and watches its
// resource, nothing else), for the defaults and the no-Secrets variant.
func TestKubeStateMetricsRoleMatchesCollectors(t *testing.T) {
	for name, args := range map[string][]string{
		"default":    {"--set", "cluster.name=ci"},
		"no-secrets": {"--values", filepath.Join(chartDir(), "ci", "no-secrets-values.yaml")},
	} {
		t.Run(name, func(t *testing.T) {
			var collectors []string
			var granted map[access]bool
			for _, o := range render(t, args...) {
				switch {
				case o.GetKind() == "Deployment" && o.GetName() == "kubetopo-kube-state-metrics":
					cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
					a, _, _ := unstructured.NestedStringSlice(cs[0].(map[string]any), "args")
					for _, x := range a {
						if v, ok := strings.CutPrefix(x, "--resources="); ok {
							collectors = strings.Split(v, ",")
						}
					}
				case o.GetKind() == "ClusterRole" && o.GetName() == "kubetopo-kube-state-metrics":
					rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
					granted = grants(t, rules)
				}
			}
			if len(collectors) == 0 || granted == nil {
				t.Fatalf("no kube-state-metrics --resources (%v) or ClusterRole (%v) rendered", collectors, granted)
			}
			var wantRes, gotRes []string
			for _, c := range collectors {
				wantRes = append(wantRes, c+" list", c+" watch")
			}
			for a := range granted {
				gotRes = append(gotRes, a.Resource+" "+a.Verb)
			}
			sort.Strings(wantRes)
			sort.Strings(gotRes)
			if strings.Join(wantRes, ",") != strings.Join(gotRes, ",") {
				t.Errorf("kube-state-metrics ClusterRole grants\n%v\nits collectors need\n%v", gotRes, wantRes)
			}
		})
	}
}
