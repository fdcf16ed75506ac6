package testbed

import (
	"context"
	"fmt"
)

// EnsureKwokNodes makes sure kwok-node-0..n-1 exist and waits until at least n
// kwok nodes report Ready: a cluster grows under a benchmark without a restart.
// Nodes that already exist are kept. The cluster must run kwok (Options.KwokNodes > 0).
// KwokNodes keeps reporting the number the cluster was started with.
func (c *Cluster) EnsureKwokNodes(ctx context.Context, n int) error {
	if c.st.KwokNodes == 0 {
		return fmt.Errorf("testbed: EnsureKwokNodes(%d): the cluster runs no kwok (start it with Options.KwokNodes > 0)", n)
	}
	return c.createKwokNodes(ctx, n)
}
