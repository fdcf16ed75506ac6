// Package rules holds kubetopo's Prometheus rule files (recording rules in
// kubetopo-workloads.rules.yml, alerting rules in kubetopo-alerts.rules.yml)
// and their promtool unit tests under tests/. The Go code here only tests
// them: structure, annotations, runbook sections in docs/alerts.md, and that
// every rule has its promtool test. promtool itself runs in test/rules.
package rules
