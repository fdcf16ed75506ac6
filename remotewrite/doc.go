// Package remotewrite is kubetopo's Prometheus remote-write receiver: it
// accepts Remote-Write 1.0 (prometheus.WriteRequest) and 2.0
// (io.prometheus.write.v2.Request) on POST /api/v1/write, authenticates the
// sender by API key, enforces size and concurrency limits, decodes the
// snappy-compressed protobuf body with its own zero-copy decoders, hands the
// decoded request to a Processor (topology and enrichment, see issue 6) and
// forwards it synchronously to every configured downstream remote-write
// endpoint. A write is acknowledged upstream only once every downstream has
// acknowledged it, so a downstream outage becomes sender retries, not loss.
//
// Decoded data is a set of views into a pooled buffer: strings in Label,
// Metadata and Request.Symbols point into the decompressed body and are valid
// only while the request is being handled (see Processor).
package remotewrite
