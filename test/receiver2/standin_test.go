//go:build integration

package receiver2

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ksmStandIn serves, in kube-state-metrics v2's names and label names, the
// series the receiver's health checks read, computed on every scrape from
// the live apiserver — a stand-in for kube-state-metrics, which is not
// available here as a binary. Pod status is whatever the apiserver holds
// (kwok's, or the kubelet-shaped status this test writes).
func ksmStandIn(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		if err := writeKSM(r, c, &b); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(b.String()))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

func writeKSM(r *http.Request, c kubernetes.Interface, b *strings.Builder) error {
	ctx := r.Context()
	family := func(name, typ, help string) { fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ) }
	one := func(ok bool) int {
		if ok {
			return 1
		}
		return 0
	}
	pods, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	family("kube_pod_status_phase", "gauge", "The pods current phase.")
	for _, p := range pods.Items {
		for _, ph := range []corev1.PodPhase{corev1.PodPending, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown, corev1.PodRunning} {
			fmt.Fprintf(b, "kube_pod_status_phase{namespace=%q,pod=%q,uid=%q,phase=%q} %d\n", p.Namespace, p.Name, p.UID, ph, one(p.Status.Phase == ph))
		}
	}
	family("kube_pod_status_ready", "gauge", "Describes whether the pod is ready to serve requests.")
	for _, p := range pods.Items {
		for _, cond := range p.Status.Conditions {
			if cond.Type != corev1.PodReady {
				continue
			}
			for _, s := range []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown} {
				fmt.Fprintf(b, "kube_pod_status_ready{namespace=%q,pod=%q,uid=%q,condition=%q} %d\n", p.Namespace, p.Name, p.UID, strings.ToLower(string(s)), one(cond.Status == s))
			}
		}
	}
	family("kube_pod_container_status_ready", "gauge", "Describes whether the containers readiness check succeeded.")
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(b, "kube_pod_container_status_ready{namespace=%q,pod=%q,uid=%q,container=%q} %d\n", p.Namespace, p.Name, p.UID, cs.Name, one(cs.Ready))
		}
	}
	family("kube_pod_container_status_waiting_reason", "gauge", "Describes the reason the container is currently in waiting state.")
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				fmt.Fprintf(b, "kube_pod_container_status_waiting_reason{namespace=%q,pod=%q,uid=%q,container=%q,reason=%q} 1\n", p.Namespace, p.Name, p.UID, cs.Name, w.Reason)
			}
		}
	}
	deps, err := c.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	family("kube_deployment_spec_replicas", "gauge", "Number of desired pods for a deployment.")
	for _, d := range deps.Items {
		fmt.Fprintf(b, "kube_deployment_spec_replicas{namespace=%q,deployment=%q} %d\n", d.Namespace, d.Name, *d.Spec.Replicas)
	}
	family("kube_deployment_status_replicas_ready", "gauge", "The number of ready replicas per deployment.")
	for _, d := range deps.Items {
		fmt.Fprintf(b, "kube_deployment_status_replicas_ready{namespace=%q,deployment=%q} %d\n", d.Namespace, d.Name, d.Status.ReadyReplicas)
	}
	rss, err := c.AppsV1().ReplicaSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	family("kube_replicaset_spec_replicas", "gauge", "Number of desired pods for a ReplicaSet.")
	for _, rs := range rss.Items {
		fmt.Fprintf(b, "kube_replicaset_spec_replicas{namespace=%q,replicaset=%q} %d\n", rs.Namespace, rs.Name, *rs.Spec.Replicas)
	}
	family("kube_replicaset_status_ready_replicas", "gauge", "The number of ready replicas per ReplicaSet.")
	for _, rs := range rss.Items {
		fmt.Fprintf(b, "kube_replicaset_status_ready_replicas{namespace=%q,replicaset=%q} %d\n", rs.Namespace, rs.Name, rs.Status.ReadyReplicas)
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	family("kube_node_status_condition", "gauge", "The condition of a cluster node.")
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			for _, s := range []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown} {
				fmt.Fprintf(b, "kube_node_status_condition{node=%q,condition=%q,status=%q} %d\n", n.Name, cond.Type, strings.ToLower(string(s)), one(cond.Status == s))
			}
		}
	}
	return nil
}
