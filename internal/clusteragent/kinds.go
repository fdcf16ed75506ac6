package clusteragent

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubetopo/kubetopo/topology"
)

// SelectKinds returns the kinds to watch: all of them, or only those named in
// enable, less those named in disable. Unknown names are an error that lists
// the known ones.
func SelectKinds(enable, disable []string) ([]topology.Kind, error) {
	all := topology.Kinds()
	known := map[string]bool{}
	names := make([]string, 0, len(all))
	for _, k := range all {
		known[k.Resource] = true
		names = append(names, k.Resource)
	}
	sort.Strings(names)
	check := func(flag string, list []string) (map[string]bool, error) {
		set := map[string]bool{}
		for _, n := range list {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			if !known[n] {
				return nil, fmt.Errorf("%s: unknown resource %q (known: %s)", flag, n, strings.Join(names, ","))
			}
			set[n] = true
		}
		return set, nil
	}
	on, err := check("--resources", enable)
	if err != nil {
		return nil, err
	}
	off, err := check("--resources.disable", disable)
	if err != nil {
		return nil, err
	}
	var out []topology.Kind
	for _, k := range all {
		if (len(on) == 0 || on[k.Resource]) && !off[k.Resource] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--resources and --resources.disable leave nothing to watch")
	}
	return out, nil
}

// SplitList splits a comma-separated flag value, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
