package testbed

import (
	"fmt"
	"strconv"
)

// ComponentURL returns the base URL (scheme://127.0.0.1:port, no path) a
// component of the cluster serves on: HTTPS for the apiserver,
// controller-manager and scheduler (the latter two with a self-signed
// certificate), plain HTTP for etcd and kwok. Tests that point a scraper at a
// control-plane process use it; the process may or may not be running.
func (c *Cluster) ComponentURL(name string) (string, error) {
	port, ok := c.st.Ports[name]
	if !ok || port == 0 {
		return "", fmt.Errorf("testbed: no port recorded for component %q", name)
	}
	scheme := "https"
	if name == Etcd || name == Kwok {
		scheme = "http"
	}
	return scheme + "://127.0.0.1:" + strconv.Itoa(port), nil
}
