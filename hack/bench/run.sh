#!/usr/bin/env bash
# Scale benchmark of the cluster agent (`make bench-scale`): grows one test
# cluster (internal/testbed: controllers + kwok nodes, 50 pods per node) to
# each size in KUBETOPO_BENCH_SIZES (default 1000,5000,10000 pods), measures a
# freshly started agent at each (test/bench), profiles it at the largest size,
# then renders the results into docs/benchmarks.md (between the bench-scale
# markers) and docs/bench-scale.png, and keeps the raw JSON in
# hack/bench/results/. Takes 20-40 minutes on a 2-core machine.
#
# Environment: KUBETOPO_TESTBED_BIN (default: hack/testbed/build.sh's bin dir),
# KUBETOPO_BENCH_SIZES, KUBETOPO_BENCH_SCRAPES (100 per encoding),
# KUBETOPO_BENCH_CHANGES (200), KUBETOPO_BENCH_CHANGE_RATE (10/s),
# KUBETOPO_BENCH_WORK (scratch dir for the log and profiles).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export KUBETOPO_TESTBED_BIN=${KUBETOPO_TESTBED_BIN:-$(hack/testbed/build.sh | tail -1)}
export KUBETOPO_BENCH_SIZES=${KUBETOPO_BENCH_SIZES:-1000,5000,10000}
work=${KUBETOPO_BENCH_WORK:-${TMPDIR:-/tmp}/kubetopo-bench}
mkdir -p "$work" hack/bench/results
export KUBETOPO_BENCH_OUT=$work/bench-scale.json
export KUBETOPO_BENCH_PROFILE_DIR=$work/profiles
# The agent and the harness are built from the committed HEAD (git archive),
# not from the working tree: the numbers belong to one known commit.
rev=$(git rev-parse --short HEAD)
src=$work/src-$rev
rm -rf "$src" && mkdir -p "$src" && git archive HEAD | tar -x -C "$src"
dirty=""
if [ -n "$(git status --porcelain -- cmd exporter internal topology test/bench go.mod go.sum)" ]; then
	dirty=" (the working tree had uncommitted changes; they are not measured)"
fi
export KUBETOPO_BENCH_COMMAND="make bench-scale at $rev$dirty = hack/bench/run.sh: KUBETOPO_BENCH_SIZES=$KUBETOPO_BENCH_SIZES go test -tags integration -count=1 -timeout 150m -run TestScaleBenchmark -v ./test/bench/"
echo "bench-scale: commit $rev, sizes $KUBETOPO_BENCH_SIZES, load average $(cut -d' ' -f1-3 /proc/loadavg), log $work/bench-scale.log"
(cd "$src" && go test -tags integration -count=1 -timeout 150m -run TestScaleBenchmark -v ./test/bench/) 2>&1 | tee "$work/bench-scale.log"
cp "$KUBETOPO_BENCH_OUT" hack/bench/results/bench-scale.json
(cd hack/bench/report && go run . -in "$root/hack/bench/results/bench-scale.json" -doc "$root/docs/benchmarks.md" -png "$root/docs/bench-scale.png")
echo "bench-scale: wrote docs/benchmarks.md, docs/bench-scale.png, hack/bench/results/bench-scale.json (profiles in $KUBETOPO_BENCH_PROFILE_DIR)"
