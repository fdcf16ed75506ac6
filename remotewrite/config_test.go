package remotewrite

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDownstreams(t *testing.T) {
	ds, err := LoadDownstreams("testdata/forward/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 {
		t.Fatalf("%d downstreams", len(ds))
	}
	checks := []struct {
		name  string
		proto Protocol
		to    time.Duration
	}{{"127.0.0.1:9090/api/v1/write", V1, 30 * time.Second}, {"mimir", V2, 5 * time.Second}, {"victoria:8428/api/v1/write", V1, 30 * time.Second}}
	for i, c := range checks {
		if ds[i].Name != c.name || ds[i].proto != c.proto || ds[i].Timeout != c.to {
			t.Errorf("downstream %d: %s %v %v, want %+v", i, ds[i].Name, ds[i].proto, ds[i].Timeout, c)
		}
	}
	if ds[1].password != "pw" || ds[2].bearerToken != "tok" || ds[1].Headers["X-Scope-OrgID"] != "team-a" {
		t.Error("credentials or headers not loaded")
	}
	bad := map[string]string{
		"unknown-key.yml":        "protocl",
		"bad-protocol.yml":       "protocol",
		"bad-scheme.yml":         "not an http(s) URL",
		"credentials-in-url.yml": "credentials in the URL",
		"basic-auth-no-file.yml": "password_file",
		"missing-token-file.yml": "bearer_token_file",
		"does-not-exist.yml":     "reading the forward config file",
	}
	for file, want := range bad {
		t.Run(file, func(t *testing.T) {
			_, err := LoadDownstreams(filepath.Join("testdata/forward", file))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one mentioning %q", err, want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Fatal("the error shows the URL's password")
			}
		})
	}
}

func TestLoadAPIKeys(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "keys")
	if err := os.WriteFile(f, []byte("# comment\n\n  key-one  \nkey-two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := LoadAPIKeys(f)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"key-one": true, "key-two": true, "key-three": false, "": false, "# comment": false} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("X-API-Key", key)
		if got := k.Authenticate(r); got != want {
			t.Errorf("key %q: %v, want %v", key, got, want)
		}
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("# nothing\n"), 0o600)
	if _, err := LoadAPIKeys(empty); err == nil {
		t.Error("an empty key file was accepted")
	}
}
