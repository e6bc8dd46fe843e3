package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datasev/datasev/worker/service/servicetest"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/worker/service"
)

// One dev server serves the package; each test starts the workers it needs
// (the restart test stops one mid-activity). -short skips them all.
var srv *devstack.Server

func TestMain(m *testing.M) {
	// Loopback only: no cloud metadata probing by any SDK.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(devstack.RunTests(m, func(s *devstack.Server) (func(), error) {
		srv = s
		return nil, nil
	}))
}

// world is one test's outside world: a GitHub stand-in seeded with the dbt
// demo project and its manifest, reached through a proxy the test can hold
// requests in, and an Airflow stand-in with the dbt job's DAG.
type world struct {
	gh      *ghtest.Server
	proxy   *holdProxy
	airflow *aftest.Server
	culprit string // the commit that broke the model
}

const dbtDAG = "dbt_analytics"

func newWorld(t *testing.T) *world {
	t.Helper()
	gh := ghtest.New()
	t.Cleanup(gh.Close)
	now := time.Now()
	culprit := gh.SeedDbtDemo(now)
	gh.Commit(ghtest.DemoRepo, "main", "CI", "dbt docs: manifest", map[string]string{manifesttest.DemoManifestPath: string(manifesttest.Generate(manifesttest.DbtDemo()))}, now.Add(-47*time.Hour))
	af := aftest.New(aftest.Options{AutoAdvance: true})
	t.Cleanup(af.Close)
	af.SeedDAG(dbtDAG, false, "dbt_run", "dbt_test")
	p := newHoldProxy(t, gh.URL)
	return &world{gh: gh, proxy: p, airflow: af, culprit: culprit}
}

// startWorker starts a datasev worker wired to w's stand-ins, stopped at
// cleanup unless the test stops it first (the returned func is idempotent).
func (w *world) startWorker(t *testing.T, c client.Client, adjust ...func(*service.Config)) func() {
	t.Helper()
	env := w.gh.Env()
	env[ghact.EnvAPIURL] = w.proxy.URL() // through the proxy
	ghcfg, err := ghact.ConfigFromEnv(mapGetenv(env))
	if err != nil {
		t.Fatalf("github config: %v", err)
	}
	afcfg, err := airflow.ConfigFromEnv(mapGetenv(w.airflow.Env()))
	if err != nil {
		t.Fatalf("airflow config: %v", err)
	}
	cfg := service.Config{GitHub: ghcfg, Airflow: afcfg}
	for _, f := range adjust {
		f(&cfg)
	}
	return startWorker(t, c, cfg)
}

// startWorker starts a datasev worker with the integrations of cfg,
// stopped at cleanup unless the test stops it first (the returned func is
// idempotent).
func startWorker(t *testing.T, c client.Client, cfg service.Config) func() {
	t.Helper()
	cfg.StopTimeout = time.Second
	stopWorker, err := servicetest.Start(c, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(stopWorker) }
	t.Cleanup(stop)
	return stop
}

func mapGetenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// holdProxy forwards to the GitHub stand-in. When holding, a request that
// creates a pull request is forwarded (the pull request exists) but its
// answer is held back until the client gives up: the activity that asked
// never learns that it succeeded, as when its worker dies at that moment.
type holdProxy struct {
	srv     *httptest.Server
	mu      sync.Mutex
	hold    bool
	created chan struct{} // closed when a held creation reached the stand-in
}

func newHoldProxy(t *testing.T, target string) *holdProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{created: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		hold := p.hold && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/pulls")
		if hold {
			p.hold = false
		}
		p.mu.Unlock()
		if !hold {
			rp.ServeHTTP(rw, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
		close(p.created)
		<-r.Context().Done() // the caller is gone; the answer is lost
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's base URL, ending in "/" like the stand-in's.
func (p *holdProxy) URL() string { return p.srv.URL + "/" }

// holdNextPullCreation arms the proxy for the next pull request creation.
func (p *holdProxy) holdNextPullCreation() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = true
	return p.created
}
