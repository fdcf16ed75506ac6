// Package kube builds the Kubernetes client configuration of the binaries
// that talk to an apiserver. It is apart from package cli so that binaries
// without a Kubernetes client (the receiver) do not link client-go.
package kube

import (
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RESTConfig loads the kubeconfig file at path; with an empty path, the
// in-cluster configuration, else $KUBECONFIG or ~/.kube/config.
func RESTConfig(path string) (*rest.Config, error) {
	if path != "" {
		return clientcmd.BuildConfigFromFlags("", path)
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}
