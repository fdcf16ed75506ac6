package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// kwokAnnotation selects the nodes kwok manages (--manage-nodes-with-annotation-selector).
const kwokAnnotation = "kwok.x-k8s.io/node"

// APIError is a non-2xx answer of the apiserver.
type APIError struct {
	Method, Path string
	StatusCode   int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.StatusCode, firstLine(e.Body))
}

// IsNotFound reports whether err is an APIError with status 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound
}

// Do sends a request to the apiserver as the admin: in (if non-nil) is sent as JSON, a 2xx JSON
// answer is decoded into out (if non-nil); any other status gives an *APIError.
func (c *Cluster) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server()+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		ct := "application/json"
		if method == http.MethodPatch {
			ct = "application/merge-patch+json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := c.admin.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &APIError{Method: method, Path: path, StatusCode: resp.StatusCode, Body: string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// kwokNode is the Node object of a fake node, as kwok's documentation creates them.
func kwokNode(name string) map[string]any {
	resources := map[string]string{"cpu": "32", "memory": "256Gi", "pods": "110"}
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Node",
		"metadata": map[string]any{
			"name": name,
			"annotations": map[string]string{
				kwokAnnotation:                 "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			"labels": map[string]string{
				"type":                          "kwok",
				kwokAnnotation:                  "fake",
				"kubernetes.io/arch":            "amd64",
				"kubernetes.io/os":              "linux",
				"kubernetes.io/hostname":        name,
				"kubernetes.io/role":            "agent",
				"node-role.kubernetes.io/agent": "",
			},
		},
		"status": map[string]any{
			"allocatable": resources,
			"capacity":    resources,
		},
	}
}

// createKwokNodes creates kwok-node-0..n-1 and waits until each reports Ready.
func (c *Cluster) createKwokNodes(ctx context.Context, n int) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	for i := range n {
		name := fmt.Sprintf("kwok-node-%d", i)
		err := c.Do(ctx, http.MethodPost, "/api/v1/nodes", kwokNode(name), nil)
		var ae *APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusConflict {
			err = nil // a restarted kwok component on a kept etcd: the node is already there
		}
		if err != nil {
			return fmt.Errorf("testbed: create node %s: %w", name, err)
		}
	}
	return c.WaitNodesReady(ctx, n)
}

// WaitNodesReady polls the kwok nodes (label type=kwok) until at least n of them report
// Ready=True, or ctx ends.
func (c *Cluster) WaitNodesReady(ctx context.Context, n int) error {
	start := time.Now()
	path := "/api/v1/nodes?labelSelector=" + url.QueryEscape("type=kwok")
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ready, total, err := c.readyNodes(ctx, path)
		if err == nil && ready >= n {
			c.logf("testbed: %d kwok nodes Ready after %s", ready, time.Since(start).Round(time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testbed: %d of %d kwok nodes Ready (want %d) after %s: %w (last error: %v); kwok log tail:\n%s",
				ready, total, n, time.Since(start).Round(time.Millisecond), ctx.Err(), err, c.LogTail(Kwok, 20))
		case <-tick.C:
		}
	}
}

func (c *Cluster) readyNodes(ctx context.Context, path string) (ready, total int, err error) {
	var list struct {
		Items []struct {
			Status struct {
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := c.Do(ctx, http.MethodGet, path, nil, &list); err != nil {
		return 0, 0, err
	}
	for _, item := range list.Items {
		for _, cond := range item.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				ready++
			}
		}
	}
	return ready, len(list.Items), nil
}
