package events

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Category is StackState's event category.
type Category string

// The four categories; nothing else is valid.
const (
	Activities Category = "Activities"
	Alerts     Category = "Alerts"
	Changes    Category = "Changes"
	Others     Category = "Others"
)

// categories lists the valid categories.
var categories = []Category{Activities, Alerts, Changes, Others}

func validCategory(s string) (Category, bool) {
	for _, c := range categories {
		if string(c) == s {
			return c, true
		}
	}
	return "", false
}

// seedTable returns the category table of the seed (StackState's Kubernetes
// integration docs), with both spellings of SuccessfulCreate: the seed writes
// "SuccesfulCreate", Kubernetes "SuccessfulCreate".
func seedTable() map[string]Category {
	t := map[string]Category{}
	for _, r := range strings.Fields(`BackOff ContainerGCFailed ExceededGracePeriod FileSystemResizeSuccessful
		ImageGCFailed Killing NodeAllocatableEnforced NodeNotReady NodeSchedulable Preempting Pulling Pulled
		Rebooted Scheduled Starting Started SuccessfulAttachVolume SuccessfulDetachVolume SuccessfulMountVolume
		SuccessfulUnMountVolume VolumeResizeSuccessful`) {
		t[r] = Activities
	}
	t["NotTriggerScaleUp"] = Alerts
	for _, r := range strings.Fields(`Created NodeReady SandboxChanged SuccessfulCreate SuccesfulCreate
		SuccessfulDelete Completed`) {
		t[r] = Changes
	}
	return t
}

// Categorizer assigns categories. First match wins: the override file, the
// seed's table, Warning → Alerts, everything else → Others.
type Categorizer struct {
	overrides map[string]Category
	seed      map[string]Category
}

// NewCategorizer returns a Categorizer with the given overrides (nil: none).
func NewCategorizer(overrides map[string]Category) *Categorizer {
	return &Categorizer{overrides: overrides, seed: seedTable()}
}

// Category returns the category of an event with the given reason and type.
func (c *Categorizer) Category(reason, eventType string) Category {
	if cat, ok := c.overrides[reason]; ok {
		return cat
	}
	if cat, ok := c.seed[reason]; ok {
		return cat
	}
	if eventType == "Warning" {
		return Alerts
	}
	return Others
}

// maxReasonLen is the longest reason the events.k8s.io API accepts.
const maxReasonLen = 128

// LoadOverrides reads an override file: a YAML (or JSON, which is YAML) mapping
// of event reason to category, e.g.
//
//	FailedScheduling: Alerts
//	Pulled: Others
//
// Every value must be one of the four categories, every key a plausible
// reason (non-empty, at most 128 characters, no spaces), no key twice. Errors
// name the file, the line and the reason.
func LoadOverrides(path string) (map[string]Category, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("event category overrides: %w", err)
	}
	m, err := ParseOverrides(b)
	if err != nil {
		return nil, fmt.Errorf("event category overrides %s: %w", path, err)
	}
	return m, nil
}

// ParseOverrides parses the contents of an override file; see LoadOverrides.
func ParseOverrides(b []byte) (map[string]Category, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]Category{}, nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return map[string]Category{}, nil // only comments
	} else if err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		if len(extra.Content) > 0 {
			extra = *extra.Content[0]
		}
		return nil, fmt.Errorf("line %d: a second document; the file must be one mapping of reason to category", extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return map[string]Category{}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of event reason to category (%s), got %s", root.Line, allowed(), kindName(root))
	}
	out := map[string]Category{}
	lines := map[string]int{}
	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("line %d: a reason must be a string, got %s", k.Line, kindName(k)))
			continue
		}
		reason := k.Value
		if err := checkReason(reason); err != nil {
			errs = append(errs, fmt.Errorf("line %d: reason %q: %w", k.Line, reason, err))
			continue
		}
		if first, dup := lines[reason]; dup {
			errs = append(errs, fmt.Errorf("line %d: reason %q is already given on line %d", k.Line, reason, first))
			continue
		}
		lines[reason] = k.Line
		if v.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("line %d: reason %q: the category must be one of %s, got %s", v.Line, reason, allowed(), kindName(v)))
			continue
		}
		cat, ok := validCategory(v.Value)
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: reason %q: unknown category %q (allowed: %s)", v.Line, reason, v.Value, allowed()))
			continue
		}
		out[reason] = cat
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func checkReason(r string) error {
	switch {
	case r == "":
		return errors.New("empty")
	case len(r) > maxReasonLen:
		return fmt.Errorf("longer than %d characters", maxReasonLen)
	}
	for _, c := range r {
		if unicode.IsSpace(c) || !unicode.IsPrint(c) {
			return errors.New("contains white space or a control character (a key is an event reason such as FailedScheduling)")
		}
	}
	return nil
}

func allowed() string {
	s := make([]string, len(categories))
	for i, c := range categories {
		s[i] = string(c)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}
