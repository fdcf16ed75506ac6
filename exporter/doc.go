// Package exporter turns kubetopo's topology and scraped series into
// Prometheus exposition.
//
// Store keeps every component and relation as pre-rendered exposition lines,
// swapped when the object behind them changes (kube-state-metrics' answer to
// slow scrapes and garbage at scale), and renders them on each scrape without
// building any intermediate metric objects.
package exporter
