package demo

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	got := Summary(
		map[string]int{"pod": 12, "cluster": 1, "container": 20, "configmap": 4},
		map[string]int{"scheduled_on": 12, "belongs_to": 2, "controls": 9},
	)
	want := "topology: 37 components (cluster 1, configmap 4, container 20, pod 12), 23 relations (belongs_to 2, controls 9, scheduled_on 12)"
	if got != want {
		t.Errorf("Summary:\n got %s\nwant %s", got, want)
	}
	if got, want := Summary(nil, map[string]int{}), "topology: 0 components, 0 relations"; got != want {
		t.Errorf("empty Summary: got %q, want %q", got, want)
	}
}

func TestBaseURL(t *testing.T) {
	for addr, want := range map[string]string{
		":9847":           "http://localhost:9847",
		"0.0.0.0:9847":    "http://localhost:9847",
		"[::]:9847":       "http://localhost:9847",
		"127.0.0.1:19900": "http://127.0.0.1:19900",
		"[::1]:9847":      "http://[::1]:9847",
		"vsock://:9100":   "vsock://:9100",
	} {
		if got := BaseURL(addr, false); got != want {
			t.Errorf("BaseURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestPrintIntro(t *testing.T) {
	var b bytes.Buffer
	PrintIntro(&b, []string{":9847"}, "/metrics", "demo", "")
	for _, want := range []string{
		"http://localhost:9847/metrics",
		"http://localhost:9847/\n",
		"curl -s localhost:9847/metrics | grep kubetopo_relation_info | head\n",
		`kubetopo_relation_info{cluster="demo"`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("intro lacks %q:\n%s", want, b.String())
		}
	}
}
