package controlplane

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseVerbose(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name       string
		body       []byte
		wantChecks int
		wantFailed []string
		wantErr    bool
	}{
		{name: "recorded readyz, healthy", body: read("readyz-ok.txt"), wantChecks: 35},
		{name: "recorded livez, healthy", body: read("livez-ok.txt"), wantChecks: 32},
		{name: "recorded readyz, etcd stopped", body: read("readyz-etcd-failed.txt"), wantChecks: 35, wantFailed: []string{"etcd", "etcd-readiness"}},
		{name: "recorded livez, etcd stopped", body: read("livez-etcd-failed.txt"), wantChecks: 32, wantFailed: []string{"etcd"}},
		{name: "verdict only", body: []byte("readyz check passed\n"), wantChecks: 0},
		{name: "no trailing newline, CRLF", body: []byte("[+]ping ok\r\n[-]log failed: reason withheld\r\nlivez check failed"), wantChecks: 2, wantFailed: []string{"log"}},
		{name: "plain ok is not verbose", body: []byte("ok"), wantErr: true},
		{name: "html error page", body: []byte("<html><body>502 Bad Gateway</body></html>"), wantErr: true},
		{name: "empty", body: nil, wantErr: true},
		{name: "check without a name", body: []byte("[+] ok\nreadyz check passed\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks, err := parseVerbose(tt.body)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(checks) != tt.wantChecks {
				t.Errorf("%d checks, want %d: %v", len(checks), tt.wantChecks, checks)
			}
			var failed []string
			for _, c := range checks {
				if !c.OK {
					failed = append(failed, c.Name)
				}
			}
			if len(failed) != len(tt.wantFailed) {
				t.Fatalf("failed checks %v, want %v", failed, tt.wantFailed)
			}
			for i := range failed {
				if failed[i] != tt.wantFailed[i] {
					t.Errorf("failed checks %v, want %v", failed, tt.wantFailed)
				}
			}
		})
	}
}
