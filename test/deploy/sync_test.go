package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestChartFilesInSync: the chart's copies of rules/*.yml and dashboards/*.json (a chart cannot
// read files outside its directory) equal the originals, file for file. A plain unit test, so
// `make unit` catches a rule changed without `make generate`.
func TestChartFilesInSync(t *testing.T) {
	repo := filepath.Join("..", "..")
	chart := filepath.Join(repo, "deploy", "helm", "kubetopo", "files")
	for _, c := range []struct{ src, glob, dst string }{
		{"rules", "*.yml", "rules"},
		{"dashboards", "*.json", "dashboards"},
	} {
		t.Run(c.src, func(t *testing.T) {
			want := readAll(t, filepath.Join(repo, c.src), c.glob)
			got := readAll(t, filepath.Join(chart, c.dst), c.glob)
			for name, b := range want {
				g, ok := got[name]
				switch {
				case !ok:
					t.Errorf("%s/%s is missing from the chart: run `make generate`", c.src, name)
				case !bytes.Equal(g, b):
					t.Errorf("the chart's copy of %s/%s is stale: run `make generate`", c.src, name)
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok {
					t.Errorf("the chart has %s/%s, which %s/ no longer has: run `make generate`", c.dst, name, c.src)
				}
			}
		})
	}
}

func readAll(t *testing.T, dir, glob string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}
