package actions

import (
	"net/http"
	"sync"

	"github.com/datasev/datasev/activities/core"
	"github.com/datasev/datasev/runbooks"
)

// Deps are the clients the built-in actions use. The worker builds them
// once. A zero Deps is enough for the specs (DefaultCatalog); an action
// whose client is missing fails, non-retryably, when it runs.
type Deps struct {
	// HTTPClient makes core.http's requests. core.http uses a copy that
	// follows redirects only on the same host. Nil means a default client.
	HTTPClient *http.Client
}

// New returns the registry of every built-in action, using deps' clients.
func New(deps Deps) *Registry {
	r := NewRegistry()
	r.Add(
		Typed(core.HTTPSpec(), core.NewHTTP(deps.HTTPClient).Check),
		InWorkflow[core.PageInput](core.PageSpec()),
		InWorkflow[core.WaitInput](core.WaitSpec()),
	)
	return r
}

var defaultCatalog = sync.OnceValue(func() *Registry { return New(Deps{}) })

// DefaultCatalog returns the specs of every built-in action, without
// clients: for the validator and the CLI.
func DefaultCatalog() runbooks.Catalog { return defaultCatalog() }
