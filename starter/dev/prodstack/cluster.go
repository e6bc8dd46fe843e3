package prodstack

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
)

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Root is the repository root (docker-compose.yml, worker/Dockerfile,
	// starter/dev/cluster).
	Root string
	// Dir is the cluster's state directory (the database, logs).
	Dir string
	// CLI is the pinned Temporal CLI (devstack.EnsureCLI).
	CLI string
	// Log receives the processes' output (nil: files under Dir).
	Log io.Writer
	// Progress receives one line per long step.
	Progress io.Writer
}

// Cluster is PostgreSQL and Temporal, running.
type Cluster struct {
	Postgres *Postgres
	Temporal *Temporal
	Compose  Compose
}

// StartCluster builds the server if needed, starts PostgreSQL and the
// Temporal services, and sets them up as the compose file's jobs do.
func StartCluster(ctx context.Context, o ClusterOptions) (_ *Cluster, err error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	bin, err := EnsureClusterBinary(ctx, o.Root, filepath.Join(o.Root, ".bin"), o.Progress)
	if err != nil {
		return nil, err
	}
	pg, err := StartPostgres(ctx, PostgresOptions{Dir: filepath.Join(o.Dir, "postgres"), Log: o.Log})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = pg.Stop()
		}
	}()
	compose, err := ReadCompose(ctx, o.Root, map[string]string{"POSTGRES_USER": pg.User(), "POSTGRES_PASSWORD": pg.Password()})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "PostgreSQL on %s:%d; starting Temporal %s (frontend, history, matching, worker)…\n", pg.Host(), pg.Port(), ServerVersion)
	t, err := StartTemporal(ctx, TemporalOptions{Binary: bin, CLI: o.CLI, Dir: filepath.Join(o.Dir, "temporal"), Compose: compose, Postgres: pg, Log: o.Log})
	if err != nil {
		return nil, err
	}
	return &Cluster{Postgres: pg, Temporal: t, Compose: compose}, nil
}

// Stop stops Temporal, then PostgreSQL.
func (c *Cluster) Stop() {
	if c.Temporal != nil {
		c.Temporal.Stop()
	}
	if c.Postgres != nil {
		_ = c.Postgres.Stop()
	}
}
