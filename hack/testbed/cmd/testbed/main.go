// Command testbed starts, stops and inspects a local Kubernetes test cluster (internal/testbed)
// for humans and `make e2e`:
//
//	testbed up     --state DIR [--bin DIR] [--controllers] [--kwok-nodes N] [--timeout 3m]
//	testbed down   --state DIR
//	testbed status --state DIR
//
// `up` leaves the cluster running when it exits (every component is in its own process group,
// recorded under DIR/pids) and prints the admin kubeconfig (DIR/kubeconfig) and server URL.
// Running `up` again keeps a healthy cluster with the same configuration and otherwise starts a
// fresh one, stopping whatever the earlier run left. The binaries come from --bin or
// $KUBETOPO_TESTBED_BIN: BIN=$(hack/testbed/build.sh | tail -1).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kubetopo/kubetopo/internal/testbed"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "testbed:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  testbed up     --state DIR [--bin DIR] [--controllers] [--kwok-nodes N] [--timeout 3m]
  testbed down   --state DIR
  testbed status --state DIR
`)
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errors.New("missing command")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("testbed "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "state dir of the cluster (required)")
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "up":
		bin := fs.String("bin", os.Getenv("KUBETOPO_TESTBED_BIN"), "dir with the binaries built by hack/testbed/build.sh (default $KUBETOPO_TESTBED_BIN)")
		controllers := fs.Bool("controllers", false, "also run kube-controller-manager and kube-scheduler")
		kwokNodes := fs.Int("kwok-nodes", 0, "run kwok with this many fake nodes (0 = no kwok)")
		timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the cluster to become ready")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *state == "" {
			return errors.New("up: --state is required")
		}
		if *bin == "" {
			return errors.New("up: no binaries: pass --bin or set KUBETOPO_TESTBED_BIN (BIN=$(hack/testbed/build.sh | tail -1))")
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		return up(ctx, testbed.Options{BinDir: *bin, StateDir: *state, Controllers: *controllers, KwokNodes: *kwokNodes, Logf: logf}, stdout, logf)
	case "down":
		if err := parse(fs, args); err != nil {
			return err
		}
		if *state == "" {
			return errors.New("down: --state is required")
		}
		c, err := testbed.Load(*state, logf)
		if err != nil {
			logf("nothing to stop: %v", err)
			return nil
		}
		if err := c.Stop(); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "stopped")
		return nil
	case "status":
		if err := parse(fs, args); err != nil {
			return err
		}
		if *state == "" {
			return errors.New("status: --state is required")
		}
		c, err := testbed.Load(*state, logf)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		healthy := true
		fmt.Fprintf(stdout, "server=%s\nkubeconfig=%s\n", c.Server(), c.Kubeconfig())
		for _, s := range c.Status(ctx) {
			switch {
			case s.Healthy:
				fmt.Fprintf(stdout, "%-20s pid %-8d healthy\n", s.Name, s.PID)
			case s.Running:
				healthy = false
				fmt.Fprintf(stdout, "%-20s pid %-8d unhealthy: %s\n", s.Name, s.PID, s.Err)
			default:
				healthy = false
				fmt.Fprintf(stdout, "%-20s %-12s %s\n", s.Name, "-", s.Err)
			}
		}
		if !healthy {
			return errors.New("cluster is not healthy")
		}
		return nil
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", cmd)
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

// up keeps a healthy cluster of the same configuration, and otherwise starts a fresh one
// (Start stops whatever the earlier run left running).
func up(ctx context.Context, opts testbed.Options, stdout io.Writer, logf func(string, ...any)) error {
	if c, err := testbed.Load(opts.StateDir, logf); err == nil {
		same := c.Controllers() == opts.Controllers && c.KwokNodes() == opts.KwokNodes
		err := c.Healthy(ctx)
		switch {
		case err == nil && same && ctx.Err() == nil:
			logf("cluster in %s is already running and healthy", c.StateDir)
			printCluster(stdout, c)
			return nil
		case err == nil:
			logf("cluster in %s runs with another configuration: restarting it", c.StateDir)
		default:
			logf("cluster in %s is not healthy, starting it afresh: %v", c.StateDir, err)
		}
	}
	c, err := testbed.Start(ctx, opts)
	if err != nil {
		return err
	}
	printCluster(stdout, c)
	return nil
}

func printCluster(w io.Writer, c *testbed.Cluster) {
	fmt.Fprintf(w, "kubeconfig=%s\nserver=%s\n", c.Kubeconfig(), c.Server())
}
