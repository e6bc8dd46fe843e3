package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Seal authenticates a message between an incident and its runbook: an
// HMAC under the workers' key over the message, the runbook's run ID and a
// sequence number. Anyone can send a signal; only a worker can seal one.
type Seal struct {
	// Run is the runbook child's run ID: a message sealed for one run is
	// refused by another.
	Run string `json:"run"`
	// Seq numbers the runbook's events; the incident takes each once, in
	// order. Zero on decisions (their approval ID is asked once per run).
	Seq int `json:"seq,omitempty"`
	// MAC is the seal itself.
	MAC string `json:"mac"`
}

// MaxRejectedRecorded bounds the forged internal messages an incident or
// runbook records one by one; beyond it they are only counted.
const MaxRejectedRecorded = 20

// EventMessage is what the runbook seals for an event.
func EventMessage(incident, run string, seq int, ev RunbookEvent) []byte {
	ev.Seal = nil
	return mustJSON(struct {
		Purpose  string       `json:"purpose"`
		Incident string       `json:"incident"`
		Run      string       `json:"run"`
		Seq      int          `json:"seq"`
		Event    RunbookEvent `json:"event"`
	}{"datasev runbook event v1", incident, run, seq, ev})
}

// DecisionMessage is what the incident seals for a decision.
func DecisionMessage(runbook, run string, d ApprovalDecision) []byte {
	d.Seal = nil
	return mustJSON(struct {
		Purpose  string           `json:"purpose"`
		Runbook  string           `json:"runbook"`
		Run      string           `json:"run"`
		Decision ApprovalDecision `json:"decision"`
	}{"datasev approval decision v1", runbook, run, d})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil { // plain strings, numbers, times and JSON maps
		panic("datasev: message does not marshal: " + err.Error())
	}
	return b
}

func sealOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumInterval: 5 * time.Second},
	})
}

// SealMessage seals msg through the workers' key.
func SealMessage(ctx workflow.Context, msg []byte) (string, error) {
	var out Sealed
	err := workflow.ExecuteLocalActivity(sealOptions(ctx), SealActivity, SealRequest{Message: msg}).Get(ctx, &out)
	return out.MAC, err
}

// CheckSeal reports whether mac seals msg.
func CheckSeal(ctx workflow.Context, msg []byte, mac string) bool {
	if mac == "" {
		return false
	}
	var out SealChecked
	if err := workflow.ExecuteLocalActivity(sealOptions(ctx), CheckSealActivity, CheckSealRequest{Message: msg, MAC: mac}).Get(ctx, &out); err != nil {
		return false
	}
	return out.OK
}
