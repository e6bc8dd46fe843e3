package lineage_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	"github.com/datasev/datasev/runbooks"
)

// shop is the small project most tests read. Its lineage:
//
//	raw.orders    → stg_orders    → orders → customers → customer_ltv → ltv_model (ml, medium)
//	raw.payments  → stg_payments  ↗   │   ↘ ops_notebook (notebook, low)
//	raw.customers → stg_customers → customers   revenue_daily → revenue_dashboard (dashboard, high)
//	country_codes (seed) → customers            revenue_daily → customer_ltv
//	stg_orders → orders_snapshot (snapshot) → orders_archive
//	events (shop) and events (legacy): two models of one name
//
// orders has tests not_null:order_id, unique:order_id and
// relationships:customer_id:customers; customers has unique:customer_id.
// revenue_daily has no owner of its own; its group finance_group is owned by
// finance-analytics.
func shop() manifesttest.Project {
	return manifesttest.Project{
		Name: "shop",
		Sources: []manifesttest.Source{
			{Name: "raw", Tables: []string{"orders", "customers", "payments"}, Owner: "data-platform"},
		},
		Groups: []manifesttest.Group{{Name: "finance_group", OwnerName: "finance-analytics", OwnerEmail: "fa@shop.example"}},
		Models: []manifesttest.Model{
			{Name: "country_codes", Kind: "seed"},
			{Name: "stg_orders", Sources: []string{"raw.orders"}, Owner: "data-platform"},
			{Name: "stg_customers", Sources: []string{"raw.customers"}, Owner: "data-platform"},
			{Name: "stg_payments", Sources: []string{"raw.payments"}, Owner: "data-platform"},
			{Name: "orders", Refs: []string{"stg_orders", "stg_payments"}, Owner: "finance", Materialized: "table",
				Tests: []string{"not_null:order_id", "unique:order_id", "relationships:customer_id:customers"}},
			{Name: "customers", Refs: []string{"stg_customers", "orders", "country_codes"}, Owner: "growth",
				Tests: []string{"unique:customer_id"}},
			{Name: "revenue_daily", Refs: []string{"orders"}, Group: "finance_group", Materialized: "incremental"},
			{Name: "customer_ltv", Refs: []string{"customers", "revenue_daily"}, Owner: "growth"},
			{Name: "orders_snapshot", Kind: "snapshot", Refs: []string{"stg_orders"}},
			{Name: "orders_archive", Refs: []string{"orders_snapshot"}, Owner: "ops"},
			{Name: "events", Owner: "product"},
			{Name: "events", Package: "legacy"},
		},
		Exposures: []manifesttest.Exposure{
			{Name: "revenue_dashboard", Type: "dashboard", Maturity: "high", OwnerName: "finance", OwnerEmail: "finance@shop.example",
				URL: "https://bi.shop.example/d/1", Refs: []string{"revenue_daily"}},
			{Name: "ltv_model", Type: "ml", Maturity: "medium", OwnerEmail: "ds@shop.example", Refs: []string{"customer_ltv"}},
			{Name: "ops_notebook", Type: "notebook", Maturity: "low", OwnerName: "ops", Refs: []string{"orders"}},
		},
	}
}

// quiet is a logger that discards.
var quiet = slog.New(slog.DiscardHandler)

// writeManifest writes b to a file in a temporary directory and returns
// its path.
func writeManifest(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// register registers the lineage actions the way the worker's registry
// does, in Temporal's activity test environment.
func register(a *lineage.Actions) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	e := s.NewTestActivityEnvironment()
	r := actions.NewRegistry()
	r.Add(
		actions.Typed(lineage.DownstreamSpec(), a.Downstream),
		actions.Typed(lineage.UpstreamSpec(), a.Upstream),
	)
	r.RegisterWith(e)
	return e
}

// run runs an action through the test environment; the result has been
// through Temporal's JSON payloads, as a runbook's expressions see it.
func run(t testing.TB, e *testsuite.TestActivityEnvironment, action string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(action, runbooks.ActionRequest{Incident: "inc-1", Runbook: "rb", Step: "s1", With: with})
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	var res runbooks.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

// appErr returns err's Temporal application error, failing the test when
// there is none.
func appErr(t testing.TB, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("want an application error, got %T %v", err, err)
	}
	return ae
}

// wantErr checks err is an application error of type typ, retryable or
// not, whose message contains every one of parts.
func wantErr(t testing.TB, err error, typ string, nonRetryable bool, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got none", typ)
	}
	ae := appErr(t, err)
	if ae.Type() != typ || ae.NonRetryable() != nonRetryable {
		t.Errorf("error type %q non-retryable %v, want %q %v: %v", ae.Type(), ae.NonRetryable(), typ, nonRetryable, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// ids renders hits as "depth:unique_id" lines.
func ids(hits []lineage.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = fmt.Sprintf("%d:%s", h.Depth, h.Node.UniqueID)
	}
	return out
}
