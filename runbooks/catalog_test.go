package runbooks

import "sort"

// fakeCatalog is a catalog for validation tests: the core actions as the
// registry declares them, plus an action that changes things.
type fakeCatalog map[string]ActionSpec

func (c fakeCatalog) Lookup(name string) (ActionSpec, bool) {
	s, ok := c[name]
	return s, ok
}

func (c fakeCatalog) Specs() []ActionSpec {
	out := make([]ActionSpec, 0, len(c))
	for _, s := range c {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func testCatalog() fakeCatalog {
	return fakeCatalog{
		"core.http": {
			Name:        "core.http",
			Description: "GET a URL and check the answer",
			Inputs: []InputSpec{
				{Name: "url", Type: TypeString, Required: true},
				{Name: "method", Type: TypeString},
				{Name: "expect_status", Type: TypeInt},
				{Name: "expect", Type: TypeString},
				{Name: "timeout", Type: TypeDuration},
			},
			Outputs: []string{"status", "ok", "reason", "body", "truncated", "elapsed_ms"},
		},
		"core.page": {
			Name:        "core.page",
			Description: "page a person or a role",
			Inputs: []InputSpec{
				{Name: "to", Type: TypeString},
				{Name: "role", Type: TypeString},
				{Name: "message", Type: TypeString, Required: true},
				{Name: "detail", Type: TypeString},
			},
			Outputs: []string{"delivered_to", "role", "backend"},
			DryRun:  true,
		},
		"core.wait": {
			Name:        "core.wait",
			Description: "wait on a durable timer",
			Inputs:      []InputSpec{{Name: "duration", Type: TypeDuration, Required: true}},
			InWorkflow:  true,
		},
		"test.restart": {
			Name:        "test.restart",
			Description: "restart something (changes things)",
			Inputs: []InputSpec{
				{Name: "target", Type: TypeString, Required: true},
				{Name: "count", Type: TypeInt},
				{Name: "ratio", Type: TypeNumber},
				{Name: "force", Type: TypeBool},
				{Name: "tags", Type: TypeList},
				{Name: "options", Type: TypeObject},
			},
			Outputs: []string{"restarted"},
			DryRun:  true,
			Changes: true,
		},
	}
}
