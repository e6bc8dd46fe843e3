package prodstack_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/dev/prodstack"
	"github.com/datasev/datasev/workflows"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestComposeMatchesTheHarness holds docker-compose.yml and the harness
// together: the server version the harness builds is the images' tag, the
// server's settings are the compose file's (the harness changes only
// addresses and credentials), and the schema and setup jobs are the ones
// the harness runs.
func TestComposeMatchesTheHarness(t *testing.T) {
	c, err := prodstack.ReadCompose(t.Context(), repoRoot(t), map[string]string{"POSTGRES_PASSWORD": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	for name, image := range map[string]string{"temporal": c.ServerImage, "temporal-schema/setup": c.AdminToolsImage} {
		if got := prodstack.ImageTag(image); got != prodstack.ServerVersion {
			t.Errorf("%s image %s: tag %q, want the harness's server version %s", name, image, got, prodstack.ServerVersion)
		}
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "starter", "dev", "cluster", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "go.temporal.io/server v" + prodstack.ServerVersion; !strings.Contains(string(b), want) {
		t.Errorf("starter/dev/cluster/go.mod does not require %s", want)
	}
	if got := c.ServerEnv["DB"]; got != "postgres12" {
		t.Errorf("temporal DB = %q, want postgres12 (the plugin the harness's server links)", got)
	}
	if n, err := strconv.Atoi(c.ServerEnv["NUM_HISTORY_SHARDS"]); err != nil || n < 4 {
		t.Errorf("temporal NUM_HISTORY_SHARDS = %q, want a number ≥ 4", c.ServerEnv["NUM_HISTORY_SHARDS"])
	}
	if _, ok := c.ServerEnv["ENABLE_ES"]; ok {
		t.Errorf("temporal ENABLE_ES is set: the harness tests SQL visibility")
	}
	for _, step := range []string{"temporal-sql-tool", " create", "setup-schema -v 0.0", "update-schema --schema-name postgresql/v12/"} {
		if !strings.Contains(c.SchemaScript, step) {
			t.Errorf("temporal-schema script lacks %q:\n%s", step, c.SchemaScript)
		}
	}
	var want []string
	for _, k := range workflows.SearchAttributeKeys {
		want = append(want, k.GetName())
	}
	if got := strings.Fields(c.SetupEnv["SEARCH_ATTRIBUTES"]); !slices.Equal(got, want) {
		t.Errorf("temporal-setup SEARCH_ATTRIBUTES = %v, want %v", got, want)
	}
	// What decides the cluster's shape is the compose file's, never the
	// harness's own.
	for _, k := range []string{"DB", "NUM_HISTORY_SHARDS", "ENABLE_ES", "DBNAME", "VISIBILITY_DBNAME", "SQL_MAX_CONNS"} {
		if slices.Contains(prodstack.Overrides, k) {
			t.Errorf("the harness overrides %s; it must come from docker-compose.yml", k)
		}
	}
}

// TestDockerfileAsTheHarnessReadsIt checks the reading of worker/Dockerfile
// the harness builds and runs the shipped binaries by.
func TestDockerfileAsTheHarnessReadsIt(t *testing.T) {
	img, err := prodstack.ReadImage(filepath.Join(repoRoot(t), "worker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, b := range img.Builds {
		pkgs = append(pkgs, b[len(b)-1])
		if !slices.Contains(b, "-trimpath") {
			t.Errorf("build %v: no -trimpath", b)
		}
	}
	if !slices.Equal(pkgs, []string{"./worker", "./starter"}) {
		t.Errorf("builds %v, want ./worker and ./starter", pkgs)
	}
	if img.BuildEnv["CGO_ENABLED"] != "0" {
		t.Errorf("build env %v: want CGO_ENABLED=0", img.BuildEnv)
	}
	if img.UID == 0 || img.GID == 0 {
		t.Errorf("image user %d:%d: want an unprivileged one", img.UID, img.GID)
	}
	if img.Env["HOME"] != "/tmp" {
		t.Errorf("image HOME = %q, want /tmp (the tmpfs)", img.Env["HOME"])
	}
}

// startCluster starts the cluster for a test (PostgreSQL must be installed
// unless the test may skip).
func startCluster(t *testing.T) *prodstack.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("the cluster builds the Temporal server: not in -short")
	}
	cli, err := devstack.EnsureCLI(t.Context(), t.Output())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	logf, err := os.Create(filepath.Join(dir, "cluster.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	c, err := prodstack.StartCluster(ctx, prodstack.ClusterOptions{Root: repoRoot(t), Dir: dir, CLI: cli, Log: logf, Progress: t.Output()})
	if errors.Is(err, prodstack.ErrNoPostgres) && os.Getenv("DATASEV_REQUIRE_POSTGRES") != "1" {
		t.Skip(err)
	}
	if err != nil {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("%v\nlog tail:\n%s", err, tailString(string(b), 4000))
	}
	t.Cleanup(func() {
		c.Stop()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("cluster log tail:\n%s", tailString(string(b), 6000))
		}
	})
	return c
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// sleepy is a workflow whose timer comes due while the cluster is down.
func sleepy(ctx workflow.Context, d time.Duration) (string, error) {
	if err := workflow.Sleep(ctx, d); err != nil {
		return "", err
	}
	return "woke", nil
}

// TestClusterOnPostgresSurvivesKills runs the cluster, checks it is the
// compose file's (shards, search attributes, SQL visibility), and keeps a
// workflow's timer through SIGKILL of history, frontend and matching and
// an immediate shutdown of PostgreSQL.
func TestClusterOnPostgresSurvivesKills(t *testing.T) {
	c := startCluster(t)
	env := c.Temporal.Env()
	for k, v := range c.Compose.ServerEnv {
		if !slices.Contains(prodstack.Overrides, k) && env[k] != v {
			t.Errorf("server env %s = %q, compose says %q", k, env[k], v)
		}
	}
	cl, err := client.Dial(client.Options{HostPort: c.Temporal.Address(), Namespace: c.Temporal.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := t.Context()
	info, err := cl.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := strconv.Atoi(c.Compose.ServerEnv["NUM_HISTORY_SHARDS"]); int(info.GetHistoryShardCount()) != want {
		t.Errorf("history shards %d, want %d", info.GetHistoryShardCount(), want)
	}
	if !strings.Contains(strings.ToLower(info.GetPersistenceStore()), "postgres") || !strings.Contains(strings.ToLower(info.GetVisibilityStore()), "postgres") {
		t.Errorf("stores: persistence %q, visibility %q; want PostgreSQL for both", info.GetPersistenceStore(), info.GetVisibilityStore())
	}
	if info.GetServerVersion() != prodstack.ServerVersion {
		t.Errorf("server version %q, want %s", info.GetServerVersion(), prodstack.ServerVersion)
	}
	sa, err := cl.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: c.Temporal.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range workflows.SearchAttributeKeys {
		if sa.GetCustomAttributes()[k.GetName()] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s not registered as Keyword: %v", k.GetName(), sa.GetCustomAttributes())
		}
	}

	const queue = "prodstack-test"
	w := worker.New(cl, queue, worker.Options{})
	w.RegisterWorkflow(sleepy)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "sleepy", TaskQueue: queue}, sleepy, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Faults while the timer runs: every server process killed and
	// started again, then the database crashed and started again.
	for _, svc := range []string{"history", "frontend", "matching"} {
		if err := c.Temporal.Kill(svc); err != nil {
			t.Fatal(err)
		}
		if err := c.Temporal.Restart(svc); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Temporal.WaitHealthy(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Postgres.Crash(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := c.Postgres.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var got string
	if err := run.Get(wctx, &got); err != nil {
		t.Fatalf("workflow after the faults: %v", err)
	}
	if got != "woke" {
		t.Fatalf("workflow result %q", got)
	}
	t.Logf("services that exited on their own and were started again: %v", c.Temporal.Restarts())
	// The visibility store (PostgreSQL) lists it as completed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := cl.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: c.Temporal.Namespace(), Query: "WorkflowId='sleepy' AND ExecutionStatus='Completed'"})
		if err == nil && len(resp.GetExecutions()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility never listed the completed workflow: %v %v", resp, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
