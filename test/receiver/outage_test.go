//go:build integration

package receiver

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

func upSamples(t *testing.T, ctx context.Context, p *testbed.Prometheus) int {
	t.Helper()
	s, err := queryRange(ctx, p.URL, `up{job="static"}[1h]`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s.samples()
}

// TestDownstreamOutage: the downstream Prometheus goes away while the sender
// keeps scraping and writing; the receiver answers 5xx, the sender retries,
// and once the downstream is back (same data directory) it holds every
// sample the sender stored, counted series by series.
func TestDownstreamOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	down := startProm(t, ctx, testbed.Prometheus2, "global: {}\n", downstreamFlags(testbed.Prometheus2)...)
	rcv := startReceiver(t, ctx, "--forward.url="+down.URL+"/api/v1/write", "--forward.timeout=2s")
	tg := startTarget(t)
	sender := startProm(t, ctx, testbed.Prometheus2, senderConfig(t, tg, rcv, false))
	waitScrapes(t, ctx, sender, 5)
	sameData(t, ctx, sender, time.Now().Add(-3*time.Second), down)

	if err := down.Stop(); err != nil {
		t.Fatal(err)
	}
	atStop := upSamples(t, ctx, sender)
	waitFor(t, ctx, "10 scrapes and failed forwards during the outage", func() (bool, string) {
		failed := rcv.metric(t, `kubetopo_receiver_forward_requests_total{code="error"`)
		n := upSamples(t, ctx, sender)
		return n >= atStop+10 && failed >= 3, "scrapes " + strconv.Itoa(n-atStop) + ", failed forwards " + strconv.FormatFloat(failed, 'f', 0, 64)
	})
	answered5xx := rcv.metric(t, `kubetopo_receiver_requests_total{code="502"`) + rcv.metric(t, `kubetopo_receiver_requests_total{code="504"`)
	if answered5xx == 0 {
		t.Fatal("the receiver answered no 502/504 during the outage")
	}
	if err := down.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitScrapes(t, ctx, sender, upSamples(t, ctx, sender)+3)
	want := sameData(t, ctx, sender, time.Now().Add(-3*time.Second), down)
	t.Logf("outage of %d+ scrapes, %v answers 502/504, then %d series and %d samples identical in sender and downstream",
		10, answered5xx, len(want), want.samples())
}
