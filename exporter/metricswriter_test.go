package exporter

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/kubetopo/kubetopo/topology"
)

// prefixWriter stands for the control plane's republished series: it writes
// its own line, then the gatherer's metrics.
type prefixWriter struct{ line string }

func (p prefixWriter) WriteMetrics(w io.Writer, g prometheus.Gatherer) error {
	if _, err := io.WriteString(w, p.line); err != nil {
		return err
	}
	mfs, err := g.Gather()
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	return err
}

func TestHandlerMetricsWriter(t *testing.T) {
	s := NewStore("c", nil)
	s.Update("pod", topology.Result{Components: []topology.Component{{URN: "urn:p", Type: "pod", Name: "p"}}})
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubetopo_test_gauge", Help: "A gauge."})
	reg.MustRegister(g)
	h := NewHandler(s, reg, log.NewNopLogger()).WithMetricsWriter(prefixWriter{"# TYPE apiserver_x gauge\napiserver_x{cluster=\"c\"} 1\n"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	topo := strings.Index(body, `kubetopo_component_info{cluster="c",urn="urn:p"`)
	extra := strings.Index(body, `apiserver_x{cluster="c"} 1`)
	own := strings.Index(body, "kubetopo_test_gauge 0")
	if topo < 0 || extra < topo || own < extra {
		t.Fatalf("want topology, then the writer's series, then the gatherer's (through the writer); got:\n%s", body)
	}
	if strings.Count(body, "kubetopo_test_gauge 0") != 1 {
		t.Errorf("the gatherer's metrics are written twice:\n%s", body)
	}
}
