package events

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// checkpointVersion is the format of the checkpoint file; a file of another
// version is not read (the agent starts as without one).
const checkpointVersion = 1

// entry is what the pipeline remembers of one event (by UID).
type entry struct {
	// Counted occurrences are in kubetopo_events_total (of this run or an
	// earlier one).
	Counted int64 `json:"counted"`
	// Delivered occurrences were acknowledged by the receiver: they are not
	// sent again.
	Delivered int64 `json:"delivered"`
	// SentMS is the timestamp of the last sample delivered, so the next
	// one is later even when Kubernetes' second-precision time is not.
	SentMS int64 `json:"sent_ms,omitempty"`
	// Owner is the object whose deletion retires the entry (the event, or
	// the pod of a synthesised event); Src tells which informer owns it.
	Owner string `json:"owner"`
	Src   string `json:"src"`

	series *series // the kubetopo_events_total series it counts in
	gone   bool    // its owner is gone: retire it once delivered
	// refused is the count the receiver refused in this run: not sent
	// again by this run, but not recorded as delivered either, so a
	// restarted agent (a fixed API key) offers it once more.
	refused int64
}

type checkpointFile struct {
	Version int               `json:"version"`
	Events  map[string]*entry `json:"events"`
}

// readCheckpoint reads a checkpoint file. A missing file is an empty
// checkpoint; a file that cannot be decoded is an error (the caller starts
// without it, which can repeat deliveries but loses none).
func readCheckpoint(path string) (map[string]*entry, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]*entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var f checkpointFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decode checkpoint %s: %w", path, err)
	}
	if f.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint %s has version %d, want %d", path, f.Version, checkpointVersion)
	}
	out := map[string]*entry{}
	for uid, e := range f.Events {
		if e != nil && uid != "" {
			out[uid] = e
		}
	}
	return out, nil
}

// writeCheckpoint replaces the file atomically: a crash leaves the old or the
// new checkpoint, never a torn one.
func writeCheckpoint(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace checkpoint: %w", err)
	}
	return nil
}

// checkWritable fails early when the checkpoint's directory does not take
// files, without touching an existing checkpoint.
func checkWritable(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".probe-*")
	if err != nil {
		return fmt.Errorf("checkpoint directory is not writable: %w", err)
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}
