package ghtest

import "time"

// DemoRepo is the repository SeedDbtDemo creates.
const DemoRepo = "acme/analytics"

// SeedDbtDemo creates DemoRepo (branch main) with a small dbt project and
// a history for the dbt-model-regression runbook, relative to now: the
// project (two days ago), a change that multiplies order amounts by 100 in
// models/marts/orders.sql (three hours ago, the culprit) and an unrelated
// change outside models/ (a macro, an hour ago) that a revert must keep.
// It returns the culprit's SHA.
func (s *Server) SeedDbtDemo(now time.Time) string {
	s.CreateRepo(DemoRepo, "main")
	s.Commit(DemoRepo, "main", "Ana Lytics", "Initial dbt project", map[string]string{
		"dbt_project.yml":               "name: analytics\nversion: '1.0'\nprofile: analytics\nmodel-paths: [models]\n",
		"models/staging/stg_orders.sql": "select id, customer_id, amount, status, ordered_at\nfrom {{ source('shop', 'orders') }}\n",
		"models/marts/orders.sql":       "select id, customer_id, amount\nfrom {{ ref('stg_orders') }}\nwhere status = 'paid'\n",
		"models/marts/customers.sql":    "select customer_id, count(*) as orders\nfrom {{ ref('orders') }}\ngroup by 1\n",
		"models/marts/schema.yml":       "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: amount\n        tests: [not_null]\n",
	}, now.Add(-48*time.Hour))
	bad := s.Commit(DemoRepo, "main", "Dana Wright", "orders: report amounts in cents\n\nFinance asked for integer cents.", map[string]string{
		"models/marts/orders.sql": "select id, customer_id, amount * 100 as amount\nfrom {{ ref('stg_orders') }}\nwhere status = 'paid'\n",
	}, now.Add(-3*time.Hour))
	s.Commit(DemoRepo, "main", "Sam Chen", "macros: add cents_to_dollars", map[string]string{
		"macros/cents_to_dollars.sql": "{% macro cents_to_dollars(col) %}({{ col }} / 100.0){% endmacro %}\n",
	}, now.Add(-time.Hour))
	return bad
}
