# kubetopo: the entry point for humans and CI. `make demo` and `make test`
# are the two commands the README promises work on a fresh machine.

GO            ?= go
BIN           ?= bin
TESTBED_STATE ?= /tmp/kubetopo-testbed
# Built and cached by hack/testbed/build.sh (the first build takes ~10 minutes).
TESTBED_BIN    = $$(hack/testbed/build.sh | tail -1)
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION      ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS        = -X github.com/prometheus/common/version.Version=$(VERSION) \
                 -X github.com/prometheus/common/version.Revision=$(REVISION) \
                 -X github.com/prometheus/common/version.Branch=$(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)

.PHONY: all build demo test unit integration e2e lint fmt vet bench bench-scale bench-rw bench-latency bench-receiver bench-nodeagent e2e-nodeagent events receiver-topology fuzz chart-lint manifests deploy-test rules-test dashboards-lint dashboards-test controlplane-test testbed e2e-up e2e-down generate clean help

all: lint build unit

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "%-18s %s\n", $$1, $$2}'

build: ## build the binaries into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

demo: ## run the cluster agent on an embedded, changing simulated cluster (no cluster needed)
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/kubetopo-demo

test: lint unit integration ## everything CI runs: lint, unit tests, the real-apiserver suites

unit: ## fast unit tests (fake clients, pure mapping, golden files)
	$(GO) test -race -count=1 ./...

integration: testbed ## suites against a real kube-apiserver + etcd built from Go modules
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -timeout 30m ./internal/testbed/ ./test/...

e2e: testbed ## the end-to-end suite alone: controllers, kwok nodes, a real Prometheus scraping the agent
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -timeout 30m -run TestEndToEnd -v ./test/integration/

lint: fmt vet ## gofmt and go vet, unit and integration code alike

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

bench: ## micro-benchmarks (object→series, /metrics render at 10k pods), the cluster agent at 1k/5k/10k pods, then the receiver under increasing remote-write rates
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./exporter/ ./topology/
	$(MAKE) bench-scale
	$(MAKE) bench-rw

bench-scale: testbed ## cluster agent at 1k, 5k, 10k pods on a real control plane + kwok (20-40 min on 2 cores); rewrites docs/benchmarks.md, docs/bench-scale.png, hack/bench/results/
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) hack/bench/run.sh

bench-rw: testbed ## kubetopo-receiver vs Prometheus 3.15/2.42 at 25k-200k remote-write samples/s, RW 1.0 and 2.0 (~5 min); rewrites the receiver-ramp section of docs/benchmarks.md
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) hack/bench/run-rw.sh

bench-latency: testbed ## apiserver write → visible on /metrics, p50/p99 over 200 changes, real apiserver
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -run '^$$' -bench ChangeToMetric -benchtime 200x ./test/integration/

bench-receiver: testbed ## remote-write receiver vs Prometheus' own receiver on the same batches over HTTP (samples per CPU-second), and the in-process decoder benchmarks
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 400x ./remotewrite/
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -run '^$$' -bench ReceiverVsPrometheus -benchtime 1x -timeout 30m ./test/receiver/

bench-nodeagent: ## node agent republish path for a 100-pod kubelet: series/s, bytes and allocations per series
	$(GO) test -run '^$$' -bench Kubelet100Pods -benchmem -benchtime 20x -count 1 ./internal/nodeagent/

e2e-nodeagent: testbed ## node agent end to end: kubelet/KSM stand-ins, both agents, receiver, real Prometheus
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -timeout 20m -run TestNodeAgentEndToEnd -v ./test/nodeagent/

events: testbed ## event stream: categories, URNs, remote-write to a real Prometheus, agent restart and receiver outage
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -v ./test/events/

receiver-topology: testbed ## receiver topology, mapping, health, events and the topology API end to end, with time travel
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -timeout 15m -v ./test/receiver2/

FUZZTIME ?= 60s
fuzz: ## fuzz the remote-write decoders against the generated protobuf code (FUZZTIME each)
	cd remotewrite && $(GO) test -run '^$$' -fuzz '^FuzzDecodeV1$$' -fuzztime $(FUZZTIME) . && $(GO) test -run '^$$' -fuzz '^FuzzDecodeV2$$' -fuzztime $(FUZZTIME) .

rules-test: testbed ## promtool check + test of rules/ with Prometheus 2.42's and 3.15's promtool
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -v ./test/rules/

dashboards-lint: ## lint dashboards (uids, datasource, cluster matchers, PromQL, links), generator up to date, rule annotations and runbooks
	$(GO) test -count=1 ./dashboards/ ./internal/dashgen/ ./rules/

dashboards-test: testbed ## every dashboard panel and variable query on real Prometheus 2.42 and 3.15 over a test cluster
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -timeout 20m -v ./test/dashboards/

controlplane-test: testbed ## control-plane suite: apiserver health and metrics, components stopped under the agent, least-privilege RBAC, rules on a real Prometheus
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -timeout 10m -run TestControlPlane -v ./test/controlplane/

chart-lint: testbed ## helm lint --strict + template for the defaults and every ci/*-values.yaml; flags parsed by the real binaries; manifests current
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -run 'TestChart(LintAndTemplate|RequiresClusterName|NoSecretsVariant)|TestFlagCheck|TestKubeStateMetricsRole|TestManifestsUpToDate|TestPrometheusExampleConfig' ./test/deploy/

manifests: testbed ## render deploy/manifests/kubetopo.yaml from the chart (commit it)
	HELM=$(TESTBED_BIN)/helm deploy/render-manifests.sh

deploy-test: testbed ## the chart on a real cluster: install, RBAC proven both ways, an outside Prometheus, uninstall
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) test -tags integration -count=1 -timeout 20m -run TestChartOnCluster -v ./test/deploy/

testbed: ## build and cache the test cluster binaries (etcd, kube-apiserver, ..., kwok, prometheus)
	hack/testbed/build.sh >/dev/null

e2e-up: testbed ## start a test cluster with controllers and 3 kwok nodes (state in $(TESTBED_STATE))
	KUBETOPO_TESTBED_BIN=$(TESTBED_BIN) $(GO) run ./hack/testbed/cmd/testbed up --state $(TESTBED_STATE) --controllers --kwok-nodes 3

e2e-down: ## stop the test cluster e2e-up started
	$(GO) run ./hack/testbed/cmd/testbed down --state $(TESTBED_STATE)

generate: ## rewrite generated files: golden files, dashboards JSON, the chart's copies of rules and dashboards, plain manifests (review the diff!)
	$(GO) test ./internal/clusteragent/ -run Golden -update
	$(GO) test ./internal/nodeagent/ -run AgentGolden -update
	$(GO) test ./internal/mapping/ -run 'KubeStateMetricsFixture|KubeletFixtures' -update
	$(GO) generate ./dashboards
	deploy/sync-chart-files.sh
	deploy/render-manifests.sh

clean:
	rm -rf $(BIN)
