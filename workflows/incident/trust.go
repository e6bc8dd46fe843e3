package incident

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/signing"
)

// versionVerifiedActs is the change ID of verified acts and sealed runbook
// messages. Incidents opened before it keep taking acts as they did until
// they close, so their histories replay.
const versionVerifiedActs = "verified-acts"

// defaultUnsigned are the acts taken unsigned when the roster says nothing:
// they add to the record and decide nothing.
var defaultUnsigned = []string{workflows.ActAddNote, workflows.ActRootCause, workflows.ActContributingFactor, workflows.ActActionItem}

// verify checks an act's identity against the incident's roster and trust
// policy. It returns how the act was verified, for the timeline ("key
// SHA256:…", "slack:U… via slack", "unsigned"), or an error that says how to
// act instead. It is pure: a replay decides what the first run decided.
func verify(r *oncall.Roster, incident, name string, act workflows.Act, now time.Time) (string, error) {
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
	if age := now.Sub(sig.At); age > workflows.MaxActAge || age < -workflows.MaxActSkew {
		return "", fmt.Errorf("signature made at %s, %s from the incident's clock (%s): signed acts are taken for %s; sign it again",
			sig.At.UTC().Format(time.RFC3339), roundAge(age), now.UTC().Format(time.RFC3339), workflows.MaxActAge)
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
		var p oncall.Person
		ok = false
		switch kind {
		case "slack":
			p, ok = r.PersonBySlack(id)
		case "pagerduty":
			// A pagerduty claim was refused by the roster's validation
			// before this case existed, so no running incident's roster
			// has one: no version change is needed.
			p, ok = r.PersonByPagerDuty(id)
		}
		if !ok || p.ID != act.By {
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
func (inc *incident) verification(ctx workflow.Context, name string, act workflows.Act) string {
	if !inc.s.Trust.Enabled {
		return ""
	}
	how, err := verify(&inc.in.Roster, inc.s.ID, name, act, workflow.Now(ctx))
	if err != nil {
		return "" // validate refused it; apply never runs
	}
	return how
}
