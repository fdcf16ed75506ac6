package exporter

import (
	"fmt"
	"regexp"
	"strings"
)

// LabelFilter decides which Kubernetes label keys become label_* labels of
// kubetopo_component_labels. With no allowlist every key is allowed; the
// denylist wins over the allowlist. Patterns are label keys where '*' matches
// any run of characters ("app.kubernetes.io/*", "*-hash").
type LabelFilter struct {
	allow, deny []*regexp.Regexp
}

// NewLabelFilter compiles allow and deny patterns.
func NewLabelFilter(allow, deny []string) (*LabelFilter, error) {
	f := &LabelFilter{}
	var err error
	if f.allow, err = compileGlobs(allow); err != nil {
		return nil, fmt.Errorf("label allowlist: %w", err)
	}
	if f.deny, err = compileGlobs(deny); err != nil {
		return nil, fmt.Errorf("label denylist: %w", err)
	}
	return f, nil
}

func compileGlobs(patterns []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		re, err := regexp.Compile("^" + strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, ".*") + "$")
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// Allowed reports whether the label key is published. A nil filter allows all.
func (f *LabelFilter) Allowed(key string) bool {
	if f == nil {
		return true
	}
	for _, re := range f.deny {
		if re.MatchString(key) {
			return false
		}
	}
	if len(f.allow) == 0 {
		return true
	}
	for _, re := range f.allow {
		if re.MatchString(key) {
			return true
		}
	}
	return false
}
