// Package heapstat measures the live heap for the memory benchmarks: what a
// structure keeps is the live heap with it loaded less the live heap without.
package heapstat

import "runtime"

// Live returns the bytes of live heap objects after a full collection (two,
// so that objects freed by finalizers of the first are gone too).
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
