// Package promquery is a minimal client of the Prometheus HTTP query API
// (GET /api/v1/query), which Prometheus, Mimir, Thanos and VictoriaMetrics
// all serve. The receiver uses it to rebuild its topology on start and to
// answer questions about a past time.
package promquery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Client queries one Prometheus-compatible API.
type Client struct {
	// URL is the API's base URL, e.g. http://prometheus:9090 (the client
	// appends /api/v1/query) or a Mimir/Thanos prefix such as
	// http://mimir/prometheus.
	URL string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
	// Header is added to every request (e.g. X-Scope-OrgID, Authorization).
	Header http.Header
}

// Sample is one element of an instant vector.
type Sample struct {
	Labels labels.Labels // includes __name__ when the result keeps it
	T      int64         // milliseconds
	V      float64
}

// Query runs an instant query at t (the zero time means the server's now).
// A range-vector query (`x[1h]`) answers with raw samples: Query returns the
// last sample of each series, with its own timestamp.
func (c *Client) Query(ctx context.Context, q string, t time.Time) ([]Sample, error) {
	v := url.Values{"query": {q}}
	if !t.IsZero() {
		v.Set("time", strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/api/v1/query", strings.NewReader(v.Encode()))
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range c.Header {
		for _, x := range vs {
			req.Header.Add(k, x)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("query %q: read: %w", q, err)
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string    `json:"metric"`
				Value  [2]json.RawMessage   `json:"value"`
				Values [][2]json.RawMessage `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: %s: %w", q, resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s: %s", q, resp.Status, r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "vector" && r.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("query %q: result type %q, want vector or matrix", q, r.Data.ResultType)
	}
	out := make([]Sample, 0, len(r.Data.Result))
	for _, e := range r.Data.Result {
		if r.Data.ResultType == "matrix" {
			if len(e.Values) == 0 {
				continue
			}
			e.Value = e.Values[len(e.Values)-1]
		}
		var ts float64
		var vs string
		if err := json.Unmarshal(e.Value[0], &ts); err != nil {
			return nil, fmt.Errorf("query %q: timestamp: %w", q, err)
		}
		if err := json.Unmarshal(e.Value[1], &vs); err != nil {
			return nil, fmt.Errorf("query %q: value: %w", q, err)
		}
		f, err := strconv.ParseFloat(vs, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %q: %w", q, vs, err)
		}
		out = append(out, Sample{Labels: labels.FromMap(e.Metric), T: int64(math.Round(ts * 1000)), V: f})
	}
	return out, nil
}
