//go:build integration

package deploy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// operatorCRDs are stand-ins for the Prometheus Operator's CRDs: the same groups, versions,
// kinds and plural names, with a schema that keeps any spec (the real schemas are not available
// offline). With them installed, the chart's "auto" mode must find monitoring.coreos.com/v1 and
// create ServiceMonitors, a PodMonitor and PrometheusRules — and uninstall must remove them.
var operatorCRDs = []struct{ kind, plural string }{
	{"ServiceMonitor", "servicemonitors"},
	{"PodMonitor", "podmonitors"},
	{"PrometheusRule", "prometheusrules"},
}

func installOperatorCRDs(t *testing.T, ctx context.Context, cfg *rest.Config) {
	t.Helper()
	var docs []string
	for _, c := range operatorCRDs {
		docs = append(docs, fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[2]s.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: %[1]s, plural: %[2]s, listKind: %[1]sList, singular: %[3]s}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
`, c.kind, c.plural, strings.ToLower(c.kind)))
	}
	applyYAML(t, ctx, cfg, strings.Join(docs, "---\n"), "the operator CRD stand-ins")
	disc := discoveryFor(cfg)
	poll(t, time.Minute, "monitoring.coreos.com/v1 served", func() (bool, string) {
		l, err := disc.ServerResourcesForGroupVersion("monitoring.coreos.com/v1")
		if err != nil {
			return false, err.Error()
		}
		return len(l.APIResources) >= len(operatorCRDs), fmt.Sprint(l.APIResources)
	})
}
