package manifesttest

// DemoManifestPath is where the demo's dbt project keeps its manifest.
const DemoManifestPath = "target/manifest.json"

// DbtDemo is the dbt project of the demo repository (see ghtest's
// SeedDbtDemo): the source shop.orders feeds stg_orders, then orders, then
// customers; a high-maturity finance dashboard reads orders and a growth
// notebook reads customers.
func DbtDemo() Project {
	return Project{
		Name:    "analytics",
		Sources: []Source{{Name: "shop", Tables: []string{"orders"}, Owner: "data-platform"}},
		Models: []Model{
			{Name: "stg_orders", Sources: []string{"shop.orders"}, Owner: "data-platform"},
			{Name: "orders", Refs: []string{"stg_orders"}, Owner: "analytics-engineering", Tests: []string{"not_null:amount"}},
			{Name: "customers", Refs: []string{"orders"}, Owner: "growth"},
		},
		Exposures: []Exposure{
			{Name: "finance_revenue", Type: "dashboard", Maturity: "high", OwnerName: "Finance", OwnerEmail: "finance@example.com", Refs: []string{"orders"}},
			{Name: "growth_cohorts", Type: "notebook", Maturity: "low", OwnerName: "Growth", OwnerEmail: "growth@example.com", Refs: []string{"customers"}},
		},
	}
}
