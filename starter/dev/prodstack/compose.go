package prodstack

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// Compose is what docker-compose.yml says about the Temporal side of the
// production stack, read with the Compose specification's own loader: the
// harness runs the same server version with the same settings and the same
// setup steps (TestComposeMatchesTheHarness holds the two together).
type Compose struct {
	// ServerImage and AdminToolsImage are the images' tags (the server
	// version the harness must run).
	ServerImage, AdminToolsImage string
	// ServerEnv is the temporal service's environment: the variables the
	// server's configuration template reads (DB, DB_PORT, POSTGRES_SEEDS,
	// NUM_HISTORY_SHARDS, …).
	ServerEnv map[string]string
	// SchemaScript and SchemaEnv are the temporal-schema job's shell
	// script and environment: temporal-sql-tool creating the databases
	// and bringing their schemas to this version.
	SchemaScript string
	SchemaEnv    map[string]string
	// SetupScript and SetupEnv are the temporal-setup job's script and
	// environment: the namespace, its retention and the search attributes,
	// created with the temporal CLI.
	SetupScript string
	SetupEnv    map[string]string
	// WorkerEnv and IntakeEnv are the datasev services' environments.
	WorkerEnv, IntakeEnv map[string]string
}

// ReadCompose loads root/docker-compose.yml with env as the only
// environment (POSTGRES_PASSWORD must be in it: the file requires it).
func ReadCompose(ctx context.Context, root string, env map[string]string) (Compose, error) {
	p, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: types.Mapping(env),
	}, func(o *loader.Options) {
		o.SetProjectName("datasev", true)
		o.ResolvePaths = true
		o.SkipConsistencyCheck = true
	})
	if err != nil {
		return Compose{}, fmt.Errorf("docker-compose.yml: %w", err)
	}
	var c Compose
	get := func(name string) (types.ServiceConfig, error) {
		s, err := p.GetService(name)
		if err != nil {
			return s, fmt.Errorf("docker-compose.yml: service %s: %w", name, err)
		}
		return s, nil
	}
	server, err := get("temporal")
	if err != nil {
		return Compose{}, err
	}
	c.ServerImage, c.ServerEnv = server.Image, mapping(server.Environment)
	schema, err := get("temporal-schema")
	if err != nil {
		return Compose{}, err
	}
	c.AdminToolsImage = schema.Image
	c.SchemaScript, c.SchemaEnv = script(schema), mapping(schema.Environment)
	setup, err := get("temporal-setup")
	if err != nil {
		return Compose{}, err
	}
	c.SetupScript, c.SetupEnv = script(setup), mapping(setup.Environment)
	w, err := get("worker")
	if err != nil {
		return Compose{}, err
	}
	c.WorkerEnv = mapping(w.Environment)
	in, err := get("intake")
	if err != nil {
		return Compose{}, err
	}
	c.IntakeEnv = mapping(in.Environment)
	return c, nil
}

// ImageTag returns the tag of an image reference ("temporalio/server:1.32.1"
// → "1.32.1").
func ImageTag(image string) string {
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") {
		return image[i+1:]
	}
	return ""
}

// script returns a one-shot job's shell script: its command, run by its
// entrypoint ["/bin/sh", "-ec"].
func script(s types.ServiceConfig) string {
	return strings.Join(s.Command, "\n")
}

func mapping(m types.MappingWithEquals) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}
