package events

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCategorySeedTable(t *testing.T) {
	c := NewCategorizer(nil)
	tests := []struct {
		reasons []string
		want    Category
	}{
		{[]string{"BackOff", "ContainerGCFailed", "ExceededGracePeriod", "FileSystemResizeSuccessful", "ImageGCFailed",
			"Killing", "NodeAllocatableEnforced", "NodeNotReady", "NodeSchedulable", "Preempting", "Pulling", "Pulled",
			"Rebooted", "Scheduled", "Starting", "Started", "SuccessfulAttachVolume", "SuccessfulDetachVolume",
			"SuccessfulMountVolume", "SuccessfulUnMountVolume", "VolumeResizeSuccessful"}, Activities},
		{[]string{"NotTriggerScaleUp"}, Alerts},
		{[]string{"Created", "NodeReady", "SandboxChanged", "SuccessfulCreate", "SuccesfulCreate", "SuccessfulDelete", "Completed"}, Changes},
	}
	for _, tt := range tests {
		for _, r := range tt.reasons {
			// The table wins over the type: a Warning BackOff is an Activity,
			// a Normal NotTriggerScaleUp an Alert.
			for _, typ := range []string{"Normal", "Warning"} {
				t.Run(r+"/"+typ, func(t *testing.T) {
					if got := c.Category(r, typ); got != tt.want {
						t.Errorf("Category(%q, %q) = %s, want %s", r, typ, got, tt.want)
					}
				})
			}
		}
	}
	if n := len(seedTable()); n != 29 {
		t.Errorf("seed table has %d reasons, want 29 (21 Activities, 1 Alert, 6 Changes + the misspelling)", n)
	}
}

func TestCategoryFallbacks(t *testing.T) {
	c := NewCategorizer(nil)
	tests := []struct {
		name, reason, typ string
		want              Category
	}{
		{"unlisted warning", "FailedScheduling", "Warning", Alerts},
		{"unlisted warning, image pull", "Failed", "Warning", Alerts},
		{"unlisted normal", "ScalingReplicaSet", "Normal", Others},
		{"empty type", "Whatever", "", Others},
		{"case matters", "backoff", "Normal", Others},
		{"synthesised OOM", ReasonOOMKilled, "Warning", Alerts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Category(tt.reason, tt.typ); got != tt.want {
				t.Errorf("Category(%q, %q) = %s, want %s", tt.reason, tt.typ, got, tt.want)
			}
		})
	}
}

func TestCategoryOverrideWins(t *testing.T) {
	o, err := LoadOverrides(filepath.Join("testdata", "overrides", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCategorizer(o)
	tests := []struct {
		reason, typ string
		want        Category
	}{
		{"FailedScheduling", "Warning", Activities}, // over Warning → Alerts
		{"Pulled", "Normal", Others},                // over the seed's Activities
		{"SuccessfulCreate", "Normal", Activities},  // over the seed's Changes
		{"SuccesfulCreate", "Normal", Changes},      // the other spelling is not overridden
		{"Killing", "Normal", Activities},           // not in the file: the seed
		{"FailedMount", "Warning", Alerts},          // not anywhere: the type
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			if got := c.Category(tt.reason, tt.typ); got != tt.want {
				t.Errorf("Category(%q, %q) = %s, want %s", tt.reason, tt.typ, got, tt.want)
			}
		})
	}
}

func TestLoadOverrides(t *testing.T) {
	want := map[string]Category{"FailedScheduling": Activities, "Pulled": Others, "SuccessfulCreate": Activities}
	tests := []struct {
		file string
		want map[string]Category
		// errs are substrings the error must contain (file, line, reason).
		errs []string
	}{
		{file: "good.yaml", want: want},
		{file: "good.json", want: want},
		{file: "empty.yaml", want: map[string]Category{}},
		{file: "bad-category.yaml", errs: []string{"bad-category.yaml", "line 2", `reason "BackOff"`, `unknown category "Alert"`, "Activities, Alerts, Changes, Others"}},
		{file: "bad-category.json", errs: []string{"line 3", `reason "Killing"`, `unknown category "alerts"`}},
		{file: "bad-duplicate.yaml", errs: []string{"line 3", `reason "Pulled" is already given on line 1`}},
		{file: "bad-list.yaml", errs: []string{"line 1", "want a mapping", "a list"}},
		{file: "bad-nested.yaml", errs: []string{"line 2", `reason "overrides"`, "a mapping"}},
		{file: "bad-reason.yaml", errs: []string{"line 2", `reason "Back Off"`, "white space"}},
		{file: "bad-syntax.yaml", errs: []string{"not YAML or JSON"}},
		{file: "bad-two-documents.yaml", errs: []string{"line 3", "second document"}},
		{file: "bad-empty-category.yaml", errs: []string{"line 1", `reason "Pulled"`, `unknown category ""`}},
		{file: "does-not-exist.yaml", errs: []string{"does-not-exist.yaml", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := LoadOverrides(filepath.Join("testdata", "overrides", tt.file))
			if tt.errs == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				for k, v := range tt.want {
					if got[k] != v {
						t.Errorf("%s: got %q, want %q", k, got[k], v)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; got %v", got)
			}
			for _, s := range tt.errs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}
