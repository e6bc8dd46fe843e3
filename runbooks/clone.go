package runbooks

import (
	"encoding/json"
	"fmt"
)

// Clone returns a deep copy of a runbook, made the way the incident workflow
// receives it (through JSON), so the captured copy shares nothing with the
// loaded set and is exactly what the workflow will run.
func Clone(rb *Runbook) (*Runbook, error) {
	b, err := json.Marshal(rb)
	if err != nil {
		return nil, fmt.Errorf("runbook %s: %w", rb.Name, err)
	}
	var out Runbook
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("runbook %s: %w", rb.Name, err)
	}
	return &out, nil
}
