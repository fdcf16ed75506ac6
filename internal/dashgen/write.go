package dashgen

import (
	"fmt"
	"os"
	"path/filepath"
)

// Render returns every dashboard's file name and JSON.
func Render() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, d := range All() {
		b, err := d.JSON()
		if err != nil {
			return nil, err
		}
		out[d.FileName()] = b
	}
	return out, nil
}

// Write writes every dashboard into dir and removes generated files of
// dashboards that no longer exist (kubetopo-*.json).
func Write(dir string) error {
	files, err := Render()
	if err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "kubetopo-*.json"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if _, keep := files[filepath.Base(f)]; !keep {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("removing stale dashboard: %w", err)
			}
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("writing dashboard: %w", err)
		}
	}
	return nil
}
