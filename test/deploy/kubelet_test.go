//go:build integration

package deploy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// kubeletStandIn answers a kubelet's metrics endpoints and authorizes every request the way a
// kubelet does (--authentication-token-webhook, --authorization-mode=Webhook): a TokenReview of
// the bearer token and a SubjectAccessReview of the request's attributes, both asked of the real
// apiserver. The attributes follow pkg/kubelet/server/auth.go: verb from the method (GET → get),
// resource nodes, name the node's, subresource metrics for /metrics and everything under it,
// stats for /stats, log for /logs, proxy for anything else. There is no kubelet in the test
// cluster (kwok nodes), so this is how the node agent's nodes/* grant is proven used.
type kubeletStandIn struct {
	port int

	mu        sync.Mutex
	accesses  map[access]bool
	forbidden []string
}

func startKubeletStandIn(t *testing.T, ctx context.Context, admin kubernetes.Interface, node string) *kubeletStandIn {
	t.Helper()
	k := &kubeletStandIn{accesses: map[access]bool{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, msg := k.authorize(ctx, admin, node, r)
		if code != http.StatusOK {
			k.mu.Lock()
			k.forbidden = append(k.forbidden, fmt.Sprintf("kubelet: %s %s → %d %s", r.Method, r.URL.Path, code, msg))
			k.mu.Unlock()
			http.Error(w, msg, code)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP kubelet_stand_in_up A kubelet stand-in answered.\n# TYPE kubelet_stand_in_up gauge\nkubelet_stand_in_up{node=%q} 1\n", node)
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	k.port, _ = strconv.Atoi(port)
	return k
}

func (k *kubeletStandIn) authorize(ctx context.Context, admin kubernetes.Interface, node string, r *http.Request) (int, string) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return http.StatusUnauthorized, "no bearer token"
	}
	tr, err := admin.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		return http.StatusInternalServerError, err.Error()
	}
	if !tr.Status.Authenticated {
		return http.StatusUnauthorized, "token not authenticated: " + tr.Status.Error
	}
	sub := "proxy"
	switch {
	case isSubpath(r.URL.Path, "/stats"):
		sub = "stats"
	case isSubpath(r.URL.Path, "/metrics"):
		sub = "metrics"
	case isSubpath(r.URL.Path, "/logs"):
		sub = "log"
	}
	verb := strings.ToLower(r.Method)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		verb = "get"
	}
	u := tr.Status.User
	extra := map[string]authorizationv1.ExtraValue{}
	for key, v := range u.Extra {
		extra[key] = authorizationv1.ExtraValue(v)
	}
	sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Resource: "nodes", Subresource: sub, Name: node},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return http.StatusInternalServerError, err.Error()
	}
	if !sar.Status.Allowed {
		return http.StatusForbidden, fmt.Sprintf("%s may not %s nodes/%s %s: %s", u.Username, verb, sub, node, sar.Status.Reason)
	}
	k.mu.Lock()
	k.accesses[access{Resource: "nodes/" + sub, Verb: verb}] = true
	k.mu.Unlock()
	return http.StatusOK, ""
}

func isSubpath(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func (k *kubeletStandIn) Accesses() map[access]bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[access]bool{}
	for a := range k.accesses {
		out[a] = true
	}
	return out
}

func (k *kubeletStandIn) Forbidden() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.forbidden...)
}
