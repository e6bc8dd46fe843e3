package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/signing"
)

// versionVerifiedActs is the change ID of verified acts and sealed runbook
// messages. Incidents opened before it keep taking acts as they did until
// they close, so their histories replay.
const versionVerifiedActs = "verified-acts"

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

// defaultUnsigned are the acts taken unsigned when the roster says nothing:
// they add to the record and decide nothing.
var defaultUnsigned = []string{ActAddNote, ActRootCause, ActContributingFactor, ActActionItem}

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

// verify checks an act's identity against the incident's roster and trust
// policy. It returns how the act was verified, for the timeline ("key
// SHA256:…", "slack:U… via slack", "unsigned"), or an error that says how to
// act instead. It is pure: a replay decides what the first run decided.
func verify(r *oncall.Roster, incident, name string, act Act, now time.Time) (string, error) {
	if act.Sig == nil {
		if unsignedAllowed(r.Trust, name) {
			return "unsigned", nil
		}
		return "", fmt.Errorf("%s needs a verified identity and this one is unsigned: act through Slack, or with the datasev CLI and your key (datasev keygen; key_file in the CLI config); the roster's trust.unsigned does not take %s unsigned", name, name)
	}
	sig := act.Sig
	if act.ID == "" {
		return "", errors.New("a signed act needs an id, so that it is applied once")
	}
	if age := now.Sub(sig.At); age > MaxActAge || age < -MaxActSkew {
		return "", fmt.Errorf("signature made at %s, %s from the incident's clock (%s): signed acts are taken for %s; sign it again",
			sig.At.UTC().Format(time.RFC3339), roundAge(age), now.UTC().Format(time.RFC3339), MaxActAge)
	}
	msg := act.SigningBytes(incident, name)
	if svc, ok := strings.CutPrefix(sig.Key, "service:"); ok {
		s, ok := r.Trust.ServiceByName(svc)
		if !ok {
			return "", fmt.Errorf("signed by service %q, which the roster's trust.services does not list", svc)
		}
		kind, id, _ := strings.Cut(sig.Claim, ":")
		if !slices.Contains(s.Claims, kind) || id == "" {
			return "", fmt.Errorf("service %s may vouch for %s identities, not %q", s.Name, strings.Join(s.Claims, ", "), sig.Claim)
		}
		p, ok := r.PersonBySlack(id)
		if kind != "slack" || !ok || p.ID != act.By {
			return "", fmt.Errorf("service %s vouches for %s, who is not %s on the roster", s.Name, sig.Claim, act.By)
		}
		for _, k := range append([]string{s.Key}, s.Keys...) {
			pub, err := signing.ParsePublicKey(k)
			if err == nil && signing.Verify(pub, msg, sig.Value) == nil {
				return sig.Claim + " via " + s.Name, nil
			}
		}
		return "", fmt.Errorf("signed as service %s: %w", s.Name, signing.ErrBadSignature)
	}
	p, ok := r.Person(act.By)
	if !ok {
		return "", fmt.Errorf("%q is not on the roster", act.By)
	}
	for _, k := range p.Keys {
		pub, err := signing.ParsePublicKey(k)
		if err != nil || signing.Fingerprint(pub) != sig.Key {
			continue
		}
		if err := signing.Verify(pub, msg, sig.Value); err != nil {
			return "", fmt.Errorf("signed with %s's key %s: %w", act.By, sig.Key, err)
		}
		return "key " + sig.Key, nil
	}
	return "", fmt.Errorf("key %s is not one of %s's keys in the roster", sig.Key, act.By)
}

// unsignedAllowed reports whether the roster's policy takes name unsigned.
func unsignedAllowed(t oncall.Trust, name string) bool {
	kinds := t.Unsigned
	if kinds == nil {
		kinds = defaultUnsigned
	}
	return slices.Contains(kinds, "*") || slices.Contains(kinds, name)
}

func roundAge(d time.Duration) string {
	if d < 0 {
		return (-d).Round(time.Second).String() + " ahead"
	}
	return d.Round(time.Second).String() + " old"
}

// verification is how the incident verified act, for the timeline; empty
// for incidents opened before verified acts.
func (inc *incident) verification(ctx workflow.Context, name string, act Act) string {
	if !inc.s.Trust.Enabled {
		return ""
	}
	how, err := verify(&inc.in.Roster, inc.s.ID, name, act, workflow.Now(ctx))
	if err != nil {
		return "" // validate refused it; apply never runs
	}
	return how
}
