package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/dev/prodstack"
)

// clusterArgs are cluster's flags, for the usage lines.
const clusterArgs = "[--state DIR] [--build-only]"

type clusterOptions struct {
	state     string
	buildOnly bool
}

func clusterFlags(w io.Writer) (*flag.FlagSet, *clusterOptions) {
	o := &clusterOptions{}
	fs := newFlagSet(w, "cluster", "go run ./starter/dev cluster "+clusterArgs)
	fs.StringVar(&o.state, "state", "", "directory for PostgreSQL's data and the logs (default: a new temporary directory, removed at exit)")
	fs.BoolVar(&o.buildOnly, "build-only", false, "only build the Temporal server binary (once) and the image's binaries (worker/Dockerfile's commands) and print their paths")
	return fs, o
}

// runCluster builds the production-shaped Temporal server and, unless
// --build-only, runs it on a private PostgreSQL until Ctrl-C, printing the
// frontend's address (for `bench --address` or a worker of your own).
func runCluster(ctx context.Context, e *env, args []string) error {
	fs, o := clusterFlags(e.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		return err
	}
	if o.buildOnly {
		exe, err := prodstack.EnsureClusterBinary(ctx, root, filepath.Join(root, ".bin"), e.stderr)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, exe)
		// The image's binaries, built with worker/Dockerfile's commands,
		// so the chaos run finds them in the build cache.
		img, err := prodstack.ReadImage(filepath.Join(root, "worker", "Dockerfile"))
		if err != nil {
			return err
		}
		bins, err := prodstack.BuildImageBinaries(ctx, root, filepath.Join(root, ".bin", "image"), img, e.stderr)
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(bins)) {
			fmt.Fprintln(e.stdout, bins[name])
		}
		return nil
	}
	state := o.state
	if state == "" {
		if state, err = os.MkdirTemp("", "datasev-cluster-"); err != nil {
			return err
		}
		defer os.RemoveAll(state)
	}
	if err := openUp(state); err != nil {
		return err
	}
	cli, err := devstack.EnsureCLI(ctx, e.stderr)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(state, "cluster.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	c, err := prodstack.StartCluster(ctx, prodstack.ClusterOptions{Root: root, Dir: state, CLI: cli, Log: logf, Progress: e.stderr})
	if err != nil {
		return err
	}
	defer c.Stop()
	fmt.Fprintf(e.stdout, "Temporal %s on PostgreSQL: %s (namespace %s); logs in %s; Ctrl-C stops it\n",
		prodstack.ServerVersion, c.Temporal.Address(), c.Temporal.Namespace(), logf.Name())
	<-ctx.Done()
	return nil
}
