package workflows

import (
	"encoding/json"
	"time"
)

// Trust is what an incident keeps of the trust model in its state.
type Trust struct {
	// Enabled is true for incidents opened with verified acts.
	Enabled bool `json:"enabled,omitempty"`
	// RunbookRun is the run ID of the runbook child, once started: sealed
	// runbook messages name it, so a message captured from another run (an
	// earlier occurrence's runbook) is refused.
	RunbookRun string `json:"runbook_run,omitempty"`
	// RunbookSeq is the sequence number of the last runbook event taken; a
	// replayed event is refused.
	RunbookSeq int `json:"runbook_seq,omitempty"`
	// Rejected counts forged runbook messages refused.
	Rejected int `json:"rejected,omitempty"`
}

// Signature proves who sent an act. The signer signs Act.SigningBytes for
// the incident and the act's name, so an act signed for one incident, or as
// approve, cannot be replayed on another incident or as deny.
type Signature struct {
	// Key names the key that signed: a person's key fingerprint
	// ("SHA256:…", from the roster's keys) or "service:<name>" for a front
	// door listed under the roster's trust.services.
	Key string `json:"key"`
	// Claim is the identity a service verified itself, "slack:U…"; it must
	// be the acting person's. Empty for a person's own key.
	Claim string `json:"claim,omitempty"`
	// At is when the act was signed. An act signed more than MaxActAge
	// before the incident sees it (or MaxActSkew after) is refused.
	At time.Time `json:"at"`
	// Value is the base64 ed25519 signature.
	Value string `json:"value"`
}

// Bounds on a signed act's age as the incident sees it.
const (
	// MaxActAge is how long a signed act stays valid: long enough for a
	// slow network, short enough that a captured act cannot be replayed
	// later.
	MaxActAge = 10 * time.Minute
	// MaxActSkew is how far in the future a signature may claim to be, for
	// a signer's clock ahead of the server's.
	MaxActSkew = 2 * time.Minute
)

// DecidingActs are the acts that decide or speak for the team: never taken
// unsigned unless the roster's trust.unsigned names them.
var DecidingActs = []string{
	ActAcknowledge, ActAssignRole, ActSetSeverity, ActRequestApproval, ActApprove, ActDeny,
	ActResolve, ActAcceptHandoff, ActPublishStatus, ActPostUpdate,
}

// SigningBytes is what a signer signs for an act named name on the incident
// with workflow ID incident: a fixed JSON document of every field the act
// carries, with the signature's key, claim and time but not its value.
func (a Act) SigningBytes(incident, name string) []byte {
	unsigned := a
	unsigned.Sig = nil
	doc := struct {
		Purpose  string    `json:"purpose"`
		Incident string    `json:"incident"`
		Name     string    `json:"name"`
		Act      Act       `json:"act"`
		Key      string    `json:"key"`
		Claim    string    `json:"claim"`
		At       time.Time `json:"at"`
	}{Purpose: "datasev act v1", Incident: incident, Name: name, Act: unsigned}
	if a.Sig != nil {
		doc.Key, doc.Claim, doc.At = a.Sig.Key, a.Sig.Claim, a.Sig.At.UTC()
	}
	b, err := json.Marshal(doc)
	if err != nil { // an Act always marshals: plain strings and a time
		panic("datasev: act does not marshal: " + err.Error())
	}
	return b
}
