package manifesttest

// DemoManifestPath is where the demo keeps the dbt project's manifest in
// its repository, as dbt writes it: target/manifest.json.
const DemoManifestPath = "target/manifest.json"

// DbtDemo is the demo's dbt project "analytics", matching the files the
// GitHub stand-in's demo repository holds (ghtest.SeedDbtDemo): source
// shop.orders → stg_orders → orders → customers, a not_null test on
// orders.amount, and two exposures: finance's revenue dashboard (high
// maturity) reading orders, and data science's churn model reading
// customers. Downstream of orders: customers and both exposures, so
// lineage.downstream suggests SEV2.
func DbtDemo() Project {
	return Project{
		Name: "analytics",
		Sources: []Source{
			{Name: "shop", Tables: []string{"orders"}, Owner: "data-platform"},
		},
		Models: []Model{
			{Name: "stg_orders", Sources: []string{"shop.orders"}, Owner: "data-platform",
				RawCode: "select id, customer_id, amount, status, ordered_at\nfrom {{ source('shop', 'orders') }}\n"},
			{Name: "orders", Refs: []string{"stg_orders"}, Owner: "finance", Materialized: "table",
				Tests:   []string{"not_null:amount"},
				RawCode: "select id, customer_id, amount\nfrom {{ ref('stg_orders') }}\nwhere status = 'paid'\n"},
			{Name: "customers", Refs: []string{"orders"}, Owner: "growth", Materialized: "table",
				RawCode: "select customer_id, count(*) as orders\nfrom {{ ref('orders') }}\ngroup by 1\n"},
		},
		Exposures: []Exposure{
			{Name: "revenue_dashboard", Type: "dashboard", Maturity: "high", OwnerName: "finance",
				OwnerEmail: "finance@acme.example", URL: "https://bi.acme.example/dashboards/revenue", Refs: []string{"orders"}},
			{Name: "churn_model", Type: "ml", Maturity: "medium", OwnerName: "data-science",
				OwnerEmail: "ds@acme.example", Refs: []string{"customers"}},
		},
	}
}
