package receiver

import (
	"context"
	"math"
	"net/http"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubetopo/kubetopo/remotewrite"
)

// ProcessorOptions configure the remote-write adapter.
type ProcessorOptions struct {
	// Enrich adds a `urn` label to every forwarded series that maps to a
	// known component and has none.
	Enrich bool
}

// Processor feeds every series of every write to a Receiver; it implements
// remotewrite.Processor.
type Processor struct {
	r    *Receiver
	o    ProcessorOptions
	pool sync.Pool
}

type scratch struct {
	b  labels.ScratchBuilder
	ls labels.Labels
}

// Processor returns the remote-write adapter of r.
func (r *Receiver) Processor(o ProcessorOptions) *Processor {
	p := &Processor{r: r, o: o}
	p.pool.New = func() any { return &scratch{b: labels.NewScratchBuilder(16)} }
	return p
}

var _ remotewrite.Processor = (*Processor)(nil)

// Process observes each series' latest sample (a float, or NaN for a series
// of native histograms only) and enriches mapped series with their URN. It
// never fails a write: what cannot be mapped is counted and forwarded as is.
func (p *Processor) Process(_ context.Context, req *remotewrite.Request) error {
	sc := p.pool.Get().(*scratch)
	defer p.pool.Put(sc)
	for i := range req.Series {
		s := &req.Series[i]
		ts, v, ok := latest(s)
		if !ok {
			continue
		}
		sc.b.Reset()
		for _, l := range s.Labels {
			sc.b.Add(l.Name, l.Value)
		}
		sc.b.Sort()
		sc.b.Overwrite(&sc.ls) // copies into sc's own buffer: no view of req is kept
		if urn := p.r.Observe(sc.ls, ts, v); urn != "" && p.o.Enrich {
			req.SetLabel(i, "urn", urn) // interned by the mapper: outlives the request
		}
	}
	return nil
}

func latest(s *remotewrite.Series) (int64, float64, bool) {
	switch {
	case len(s.Samples) > 0:
		best := s.Samples[0]
		for _, x := range s.Samples[1:] {
			if x.Timestamp >= best.Timestamp {
				best = x
			}
		}
		return best.Timestamp, best.Value, true
	case len(s.Histograms) > 0:
		return s.Histograms[len(s.Histograms)-1].Timestamp, math.NaN(), true
	}
	return 0, 0, false
}

// APIKeyAuth is the topology API's authentication: the same API keys as the
// write path (nil keys: none).
func APIKeyAuth(keys *remotewrite.APIKeys) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if keys == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !keys.Authenticate(r) {
				w.Header().Set("WWW-Authenticate", `Basic realm="kubetopo"`)
				http.Error(w, "unauthorized: an API key is required", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
