// Package controlplane is the cluster agent's view of the Kubernetes control
// plane, read through the Kubernetes API it already talks to:
//
//   - health: the kube-apiserver's /readyz and /livez checks (each named
//     check's state and the overall verdict) and, where the server still
//     serves them, componentstatuses (deprecated since Kubernetes 1.19), kept
//     as the result of the last poll and exposed as a prometheus.Collector;
//   - targets: the kube-apiserver's own /metrics, fetched through the
//     agent's client configuration, and the metrics of etcd,
//     kube-controller-manager and kube-scheduler where the cluster exposes
//     them as EndpointSlices in kube-system (or where they are configured by
//     URL), each with the URN of the component it describes.
//
// Every poll runs in its own goroutine with its own timeout: a slow or dead
// control-plane component is a series with value 0 and one log line, never a
// stalled topology or a crashed agent.
package controlplane
