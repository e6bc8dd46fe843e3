package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/actions/airflow"
	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/cli"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/dev/prodstack"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows/oncall"
)

// chaosRig is the production topology the chaos run drives: PostgreSQL and
// the Temporal services (prodstack), the shipped worker binary as several
// processes on one task queue, the shipped datasev binary as the intake, the
// protocol stand-ins in this process, and proxies in front of GitHub and
// Airflow that can hold a response while a worker is killed.
type chaosRig struct {
	root    string
	state   string
	cluster *prodstack.Cluster
	img     prodstack.Image
	bins    map[string]string
	stand   *standIns
	keys    *devKeys
	roster  oncall.Roster
	set     *runbooks.Set
	workers []*prodstack.Process
	intake  *prodstack.Process
	// intakeURL is the intake's base URL; token its generic bearer token.
	intakeURL, token string
	c                client.Client
	github, airflow  *holdProxy
	// activityKilled are the activity kinds a worker was killed at the
	// start of, over the whole run.
	activityKilled map[string]bool
	log            io.Writer
	closers        []func()
}

// chaosRigOptions configure newChaosRig.
type chaosRigOptions struct {
	state    string
	workers  int
	log      io.Writer
	progress io.Writer
}

// newChaosRig builds and starts everything. On error what started is
// stopped.
func newChaosRig(ctx context.Context, o chaosRigOptions) (_ *chaosRig, err error) {
	r := &chaosRig{state: o.state, log: o.log, activityKilled: map[string]bool{}}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.root, err = devstack.RepoRoot(); err != nil {
		return nil, err
	}
	if err := openUp(r.state); err != nil {
		return nil, err
	}
	cliPath, err := devstack.EnsureCLI(ctx, o.progress)
	if err != nil {
		return nil, err
	}
	if r.cluster, err = prodstack.StartCluster(ctx, prodstack.ClusterOptions{
		Root: r.root, Dir: filepath.Join(r.state, "cluster"), CLI: cliPath, Log: o.log, Progress: o.progress,
	}); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.cluster.Stop)
	if r.img, err = prodstack.ReadImage(filepath.Join(r.root, "worker", "Dockerfile")); err != nil {
		return nil, err
	}
	if r.bins, err = prodstack.BuildImageBinaries(ctx, r.root, filepath.Join(r.state, "bin"), r.img, o.progress); err != nil {
		return nil, err
	}
	if err := r.setupPeople(); err != nil {
		return nil, err
	}
	if r.stand, err = startStandIns(time.Now(), r.roster); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.stand.Close)
	if err := r.startProxies(); err != nil {
		return nil, err
	}
	workerEnv, intakeEnv, err := r.environments()
	if err != nil {
		return nil, err
	}
	for i := range o.workers {
		env := copyEnv(workerEnv)
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		env[service.EnvMetricsAddr] = "127.0.0.1:" + strconv.Itoa(port)
		p, err := r.img.Process(fmt.Sprintf("worker-%d", i+1), r.bins["datasev-worker"], nil, env, filepath.Join(r.state, "run"), o.log)
		if err != nil {
			return nil, err
		}
		if err := p.Start(); err != nil {
			return nil, err
		}
		r.workers = append(r.workers, p)
		r.closers = append(r.closers, func() { _ = p.Stop(15 * time.Second) })
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r.intakeURL = "http://127.0.0.1:" + strconv.Itoa(port)
	if r.intake, err = r.img.Process("intake", r.bins["datasev"], []string{"serve", "--addr", "127.0.0.1:" + strconv.Itoa(port)}, intakeEnv, filepath.Join(r.state, "run"), o.log); err != nil {
		return nil, err
	}
	if err := r.intake.Start(); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = r.intake.Stop(15 * time.Second) })
	c, err := client.Dial(client.Options{HostPort: r.cluster.Temporal.Address(), Namespace: r.cluster.Temporal.Namespace(), Logger: quietSDKLogger{}})
	if err != nil {
		return nil, err
	}
	r.c = c
	r.closers = append(r.closers, c.Close)
	if err := r.waitReady(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// setupPeople loads the sample roster and the runbooks (the library and
// the dev demo's), and makes the people's signing keys.
func (r *chaosRig) setupPeople() error {
	getenv := func(string) string { return "" }
	roster, err := cli.LoadRoster(getenv, "")
	if err != nil {
		return err
	}
	if r.set, err = cli.LoadRunbookSet(getenv, io.Discard, "", devstack.DemoRunbooks()); err != nil {
		return err
	}
	if r.keys, err = setupDevKeys(filepath.Join(r.state, "people"), roster); err != nil {
		return err
	}
	r.roster = r.keys.roster
	// The roster holds public keys only; the worker's user reads it (the
	// private keys stay in the 0700 keys directory beside it).
	if err := os.Chmod(filepath.Dir(r.keys.rosterFile), 0o755); err != nil {
		return err
	}
	return os.Chmod(r.keys.rosterFile, 0o644)
}

// environments returns the worker's and the intake's environments: the
// compose file's, with its container paths and addresses pointed at this
// machine's, and the stand-ins for every integration.
func (r *chaosRig) environments() (worker, intake map[string]string, err error) {
	secrets := filepath.Join(r.state, "secrets")
	if err := os.MkdirAll(secrets, 0o755); err != nil {
		return nil, nil, err
	}
	seal, err := r.secretFile(secrets, "seal_key", randomHex(32))
	if err != nil {
		return nil, nil, err
	}
	r.token = randomHex(16)
	tokenFile, err := r.secretFile(secrets, "intake_generic_token", r.token)
	if err != nil {
		return nil, nil, err
	}
	runbookDir := filepath.Join(r.state, "runbooks")
	if err := writeLayer(devstack.DemoRunbooks(), runbookDir); err != nil {
		return nil, nil, err
	}
	volumes := filepath.Join(r.state, "volumes")
	for _, d := range []string{"postmortems", "incidents"} {
		if err := os.MkdirAll(filepath.Join(volumes, d), 0o755); err != nil {
			return nil, nil, err
		}
	}
	if err := r.img.ShareTree(volumes); err != nil {
		return nil, nil, err
	}
	common := map[string]string{
		"TEMPORAL_ADDRESS":   r.cluster.Temporal.Address(),
		"TEMPORAL_NAMESPACE": r.cluster.Temporal.Namespace(),
		service.EnvRoster:    r.keys.rosterFile,
		service.EnvRunbooks:  runbookDir,
		// Loopback only: no cloud SDK probes an instance-metadata address.
		"AWS_EC2_METADATA_DISABLED":            "true",
		"SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
		"SF_DISABLE_MINICORE":                  "true",
	}
	worker = remap(r.cluster.Compose.WorkerEnv, common)
	worker[service.EnvSealKeyFile] = seal
	worker["DATASEV_POSTMORTEM_DIR"] = filepath.Join(volumes, "postmortems")
	worker["DATASEV_INCIDENT_DOC_DIR"] = filepath.Join(volumes, "incidents")
	worker["DATASEV_LOG_FORMAT"] = "text"
	policy := r.stand.loaderTargets()
	for _, in := range r.stand.integrations() {
		for k, v := range in.env {
			worker[k] = v
		}
		for k, v := range in.process {
			worker[k] = v
		}
		for k, v := range in.targets {
			policy[k] = joinList(policy[k], v)
		}
	}
	for k, v := range policy {
		worker[target.Env(k)] = v
	}
	// GitHub and Airflow through the proxies that can hold a response.
	worker[ghact.EnvAPIURL] = r.github.rewrite(worker[ghact.EnvAPIURL])
	worker[airflow.EnvURL] = r.airflow.rewrite(worker[airflow.EnvURL])
	intake = remap(r.cluster.Compose.IntakeEnv, common)
	intake["DATASEV_INTAKE_GENERIC_TOKEN_FILE"] = tokenFile
	return worker, intake, nil
}

// remap is a compose service's environment with the variables set is
// given, and the ones left empty dropped (as unset).
func remap(compose, set map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range compose {
		if strings.TrimSpace(v) != "" {
			out[k] = v
		}
	}
	for k, v := range set {
		out[k] = v
	}
	return out
}

// secretFile writes a secret file the image's user can read, as a mounted
// compose secret.
func (r *chaosRig) secretFile(dir, name, value string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o400); err != nil {
		return "", err
	}
	return p, r.img.Share(p)
}

// startProxies puts a holdProxy in front of the GitHub and Airflow
// stand-ins.
func (r *chaosRig) startProxies() (err error) {
	if r.github, err = startHoldProxy(r.stand.github.URL); err != nil {
		return err
	}
	r.closers = append(r.closers, r.github.close)
	if r.airflow, err = startHoldProxy(r.stand.airflow.URL); err != nil {
		return err
	}
	r.closers = append(r.closers, r.airflow.close)
	return nil
}

// waitReady waits for the intake's /readyz and for a worker to poll.
func (r *chaosRig) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(r.intakeURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		for _, p := range append([]*prodstack.Process{r.intake}, r.workers...) {
			if !p.Running() {
				return fmt.Errorf("%s exited while starting: %v (see the log)", p.Name, p.Wait(ctx))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the intake at %s never answered /readyz: %v", r.intakeURL, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (r *chaosRig) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

// holdProxy forwards to a stand-in; armed with a predicate, the first
// matching request is forwarded, its side effect done, and then, before the
// response goes back, onHold runs (a worker is killed): the side effect
// happened and its report is lost.
type holdProxy struct {
	target *url.URL
	srv    *http.Server
	ln     net.Listener
	mu     sync.Mutex
	match  func(*http.Request) bool
	onHold func()
}

func startHoldProxy(stand string) (*holdProxy, error) {
	u, err := url.Parse(stand)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &holdProxy{target: &url.URL{Scheme: u.Scheme, Host: u.Host}, ln: ln}
	rp := httputil.NewSingleHostReverseProxy(p.target)
	rp.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		match, hold := p.match, p.onHold
		if match != nil && match(resp.Request) && resp.StatusCode < 300 {
			p.match, p.onHold = nil, nil
		} else {
			hold = nil
		}
		p.mu.Unlock()
		if hold != nil {
			hold()
		}
		return nil
	}
	p.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// arm makes the next successful matching request run onHold before its
// response is returned.
func (p *holdProxy) arm(match func(*http.Request) bool, onHold func()) {
	p.mu.Lock()
	p.match, p.onHold = match, onHold
	p.mu.Unlock()
}

// disarm drops a hold that never matched.
func (p *holdProxy) disarm() { p.arm(nil, nil) }

// rewrite points a stand-in URL at the proxy, keeping its path.
func (p *holdProxy) rewrite(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return raw
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

func (p *holdProxy) close() { _ = p.srv.Close() }

// writeLayer writes a runbook layer's YAML files into dir.
func writeLayer(l runbooks.Layer, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fs.WalkDir(l.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(l.FS, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// openUp makes dir and its parents traversable by the unprivileged users
// the processes run as.
func openUp(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil
	}
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, st.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyEnv(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// quietSDKLogger keeps the SDK client's lines out of the chaos table.
type quietSDKLogger struct{}

func (quietSDKLogger) Debug(string, ...any) {}
func (quietSDKLogger) Info(string, ...any)  {}
func (quietSDKLogger) Warn(string, ...any)  {}
func (quietSDKLogger) Error(string, ...any) {}
