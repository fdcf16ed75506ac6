#!/usr/bin/env bash
# The receiver under increasing remote-write rates (`make bench-rw`):
# test/receiver's BenchmarkReceiverRates offers kubetopo-receiver and
# Prometheus 3.15 / 2.42 the same batches at 25k, 50k, 100k and 200k samples
# per second, RW 1.0 and 2.0, and records request latency, CPU, samples per
# CPU-second, allocations per sample and RSS; the results are rendered into
# docs/benchmarks.md (between the bench-rw markers) and kept in
# hack/bench/results/bench-rw.json. About 5 minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export KUBETOPO_TESTBED_BIN=${KUBETOPO_TESTBED_BIN:-$(hack/testbed/build.sh | tail -1)}
work=${KUBETOPO_BENCH_WORK:-${TMPDIR:-/tmp}/kubetopo-bench}
mkdir -p "$work" hack/bench/results
export KUBETOPO_BENCH_RW_OUT=$work/bench-rw.json
echo "bench-rw: load average $(cut -d' ' -f1-3 /proc/loadavg), log $work/bench-rw.log"
go test -tags integration -count=1 -timeout 40m -run '^$' -bench ReceiverRates -benchtime 1x -v ./test/receiver/ 2>&1 | tee "$work/bench-rw.log"
cp "$KUBETOPO_BENCH_RW_OUT" hack/bench/results/bench-rw.json
(cd hack/bench/report && go run . -rw "$root/hack/bench/results/bench-rw.json" -doc "$root/docs/benchmarks.md")
echo "bench-rw: wrote docs/benchmarks.md and hack/bench/results/bench-rw.json"
