//go:build integration

package receiver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

// waitScrapes waits until the sender has stored n scrapes of the target.
func waitScrapes(t *testing.T, ctx context.Context, sender *testbed.Prometheus, n int) {
	t.Helper()
	waitFor(t, ctx, "scrapes in the sender", func() (bool, string) {
		s, err := queryRange(ctx, sender.URL, `up{job="static"}[1h]`, time.Now())
		if err != nil {
			return false, err.Error()
		}
		return s.samples() >= n, strings.TrimSpace(strings.Join(keys(s), ","))
	})
}

func keys(s series) []string {
	var out []string
	for k, v := range s {
		out = append(out, k+"→"+itoa(strings.Count(v, " ")))
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRealSenders: a real Prometheus scrapes a target and remote-writes into
// the receiver, which forwards to real Prometheus servers; each downstream
// ends up with exactly the series and samples the sender stored.
//   - 2.42 sends RW 1.0, forwarded as is to a 2.42 downstream;
//   - 3.15 sends RW 2.0, forwarded as is to a 3.15 downstream and converted
//     to RW 1.0 for a 2.42 downstream, at once.
func TestRealSenders(t *testing.T) {
	cases := []struct {
		name   string
		sender string
		rw2    bool
		// downstream binaries with the protocol the receiver speaks to them
		downstreams []struct{ bin, proto string }
	}{
		{"prometheus-2.42 RW1.0", testbed.Prometheus2, false, []struct{ bin, proto string }{{testbed.Prometheus2, "1.0"}}},
		{"prometheus-3.15 RW2.0", testbed.Prometheus3, true, []struct{ bin, proto string }{{testbed.Prometheus3, "2.0"}, {testbed.Prometheus2, "1.0"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			var downs []*testbed.Prometheus
			var cfg strings.Builder
			for _, d := range c.downstreams {
				p := startProm(t, ctx, d.bin, "global: {}\n", downstreamFlags(d.bin)...)
				downs = append(downs, p)
				cfg.WriteString("- url: " + p.URL + "/api/v1/write\n  protocol: \"" + d.proto + "\"\n  timeout: 10s\n")
			}
			cfgFile := t.TempDir() + "/forward.yml"
			writeFile(t, cfgFile, cfg.String())
			rcv := startReceiver(t, ctx, "--forward.config.file="+cfgFile)
			tg := startTarget(t)
			sender := startProm(t, ctx, c.sender, senderConfig(t, tg, rcv, c.rw2))
			waitScrapes(t, ctx, sender, 8)
			at := time.Now().Add(-3 * time.Second)
			want := sameData(t, ctx, sender, at, downs...)
			t.Logf("%d series, %d samples identical in the sender and %d downstream(s)", len(want), want.samples(), len(downs))
			proto := "1.0"
			if c.rw2 {
				proto = "2.0"
			}
			if n := rcv.metric(t, `kubetopo_receiver_requests_total{code="204",protocol="`+proto+`"}`); n == 0 {
				t.Fatalf("no 204 answers counted for protocol %s", proto)
			}
			if n := rcv.metric(t, `kubetopo_receiver_forward_requests_total`); n == 0 {
				t.Fatal("no forwarded requests counted")
			}
		})
	}
}
