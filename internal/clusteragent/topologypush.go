package clusteragent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/kubetopo/kubetopo/exporter"
	"github.com/kubetopo/kubetopo/internal/push"
)

// TopologyPushOptions configure PushTopology.
type TopologyPushOptions struct {
	Store    *exporter.Store
	Queue    *push.Queue
	Interval time.Duration
	// BatchSize is the number of series per request; default 2000.
	BatchSize int
	// Ready gates the first push until the informers have synced, so the
	// receiver never sees a half-listed topology.
	Ready  func() bool
	Logger log.Logger
}

// PushTopology sends the topology series (the same kubetopo_component_info,
// kubetopo_component_labels and kubetopo_relation_info series /metrics
// serves) every Interval, stamped with the time of the snapshot, until ctx
// ends. The topology is state: when the queue is still full from the last
// snapshot, this one is skipped (counted as dropped) and the next one
// supersedes it.
func PushTopology(ctx context.Context, o TopologyPushOptions) error {
	if o.Interval <= 0 {
		return errors.New("topology push interval must be positive")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 2000
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	for {
		if o.Ready == nil || o.Ready() {
			series, err := TopologySeries(o.Store, time.Now())
			if err != nil {
				level.Error(o.Logger).Log("msg", "cannot render the topology for remote write", "err", err)
			}
			for start := 0; start < len(series); start += o.BatchSize {
				if err := o.Queue.Enqueue(series[start:min(start+o.BatchSize, len(series))]); err != nil {
					level.Warn(o.Logger).Log("msg", "topology snapshot skipped: the receiver has not taken the last one yet", "err", err)
					break
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// TopologySeries renders the store's series as remote-write series, every
// sample value 1 at time at.
func TopologySeries(s *exporter.Store, at time.Time) ([]prompb.TimeSeries, error) {
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render topology: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(&buf)
	if err != nil {
		return nil, fmt.Errorf("parse topology: %w", err)
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	ts := at.UnixMilli()
	var out []prompb.TimeSeries
	for _, n := range names {
		for _, m := range fams[n].GetMetric() {
			out = append(out, prompb.TimeSeries{
				Labels:  remoteLabels(n, m.GetLabel()),
				Samples: []prompb.Sample{{Value: m.GetGauge().GetValue() + m.GetUntyped().GetValue(), Timestamp: ts}},
			})
		}
	}
	return out, nil
}

func remoteLabels(name string, lps []*dto.LabelPair) []prompb.Label {
	ls := make([]prompb.Label, 0, len(lps)+1)
	ls = append(ls, prompb.Label{Name: model.MetricNameLabel, Value: name})
	for _, lp := range lps {
		if lp.GetValue() != "" {
			ls = append(ls, prompb.Label{Name: lp.GetName(), Value: lp.GetValue()})
		}
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	return ls
}
