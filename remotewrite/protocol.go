package remotewrite

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// Header names and values of the Remote-Write 1.0 and 2.0 specifications.
const (
	contentTypeV1     = "application/x-protobuf"
	contentTypeV2     = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
	protoV1           = "prometheus.WriteRequest"
	protoV2           = "io.prometheus.write.v2.Request"
	versionHeader     = "X-Prometheus-Remote-Write-Version"
	writtenSamples    = "X-Prometheus-Remote-Write-Samples-Written"
	writtenHistograms = "X-Prometheus-Remote-Write-Histograms-Written"
	writtenExemplars  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

// parseContentType negotiates the protocol from Content-Type: 1.0 for
// application/x-protobuf without proto= or with proto=prometheus.WriteRequest
// (and, like Prometheus, for a missing Content-Type), 2.0 for
// proto=io.prometheus.write.v2.Request. Anything else is 415.
func parseContentType(ct string) (Protocol, error) {
	switch ct {
	case "", contentTypeV1, contentTypeV1 + ";proto=" + protoV1:
		return V1, nil
	case contentTypeV2:
		return V2, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, fmt.Errorf("content type %q: %w", ct, err)
	}
	if mt != contentTypeV1 {
		return 0, fmt.Errorf("content type %q: only %s is accepted", ct, contentTypeV1)
	}
	switch p, ok := params["proto"]; {
	case !ok || p == protoV1:
		return V1, nil
	case p == protoV2:
		return V2, nil
	default:
		return 0, fmt.Errorf("content type %q: protobuf message %q is not accepted; accepted: %s, %s", ct, p, protoV1, protoV2)
	}
}

// checkEncoding accepts snappy (and, like Prometheus, a missing
// Content-Encoding, which 1.0 senders never omit).
func checkEncoding(h http.Header) error {
	switch enc := h.Get("Content-Encoding"); {
	case enc == "" || strings.EqualFold(enc, "snappy"):
		return nil
	default:
		return fmt.Errorf("content encoding %q is not accepted; only snappy is", enc)
	}
}

var errVersion = errors.New("remote-write version header does not match the content type")

// checkVersion rejects a X-Prometheus-Remote-Write-Version that contradicts
// the negotiated protocol (1.0 senders send 0.1.0 or 1.x, 2.0 senders 2.x).
// The header is optional: Content-Type decides.
func checkVersion(h http.Header, p Protocol) error {
	v := h.Get(versionHeader)
	if v == "" {
		return nil
	}
	major, _, _ := strings.Cut(v, ".")
	switch {
	case p == V1 && (major == "0" || major == "1"), p == V2 && major == "2":
		return nil
	}
	return fmt.Errorf("%w: %s %q with protocol %s", errVersion, versionHeader, v, p)
}
