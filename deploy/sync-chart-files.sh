#!/usr/bin/env bash
# Copies rules/*.yml and dashboards/*.json into the chart (a chart cannot read files outside its
# directory). `make generate` runs it; test/deploy's TestChartFilesInSync fails when the copies
# are stale.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chart=$root/deploy/helm/kubetopo
sync() { # sync <source dir> <glob> <dest dir>
	local src=$root/$1 glob=$2 dst=$chart/$3
	mkdir -p "$dst"
	find "$dst" -maxdepth 1 -type f -name "$glob" -delete
	if [[ -d $src ]]; then
		find "$src" -maxdepth 1 -type f -name "$glob" -exec cp {} "$dst/" \;
	fi
}
sync rules '*.yml' files/rules
sync dashboards '*.json' files/dashboards
