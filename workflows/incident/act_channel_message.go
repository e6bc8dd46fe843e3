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

// The channel acts: what people say in the incident's Slack channel reaches
// its timeline (channel_message: posted, edited, deleted), and a message
// marked with the configured reaction becomes a finding (channel_pin). The
// Slack app relays them, signed as service "slack" for the Slack user it
// verified; they decide nothing.
//
// The timeline is append-only: an edit is recorded as a new entry with the
// new text, a deletion as an entry saying the message was deleted (the
// original entry stays: it was said in the incident's channel). A pin finds
// the latest entry of its message (so an edit's text is the finding) and is
// refused when the message is not in the log or was deleted. At most
// workflows.MaxChannelEntries channel entries are recorded per incident;
// later messages are counted in Snapshot.Channel.Dropped.
//
// These acts are Updates only (no Signal, not in workflows.ActNames: the
// CLI and the Temporal UI do not send them), and idempotent by message:
// their act ID is workflows.ChannelMessage.ActID, checked here.

// versionChannelLog is the change ID of the channel acts. It is recorded
// by the first channel act an incident run applies, so incidents that never
// hear from Slack carry no marker.
const versionChannelLog = "channel-log"

// channelActNames are the channel acts' Update names.
var channelActNames = []string{workflows.ActChannelMessage, workflows.ActChannelPin}

// registerChannelActs registers the channel acts' Update handlers.
func (inc *incident) registerChannelActs(ctx workflow.Context) error {
	for _, name := range channelActNames {
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, act workflows.Act) (workflows.ActResult, error) {
				msg := inc.applyChannel(ctx, name, act)
				inc.kick.SendAsync(struct{}{})
				return inc.result(msg), nil
			},
			workflow.UpdateHandlerOptions{
				Validator: func(ctx workflow.Context, act workflows.Act) error {
					return inc.validateChannel(ctx, name, act)
				},
				Description: "datasev channel act " + name + " (from the Slack app)",
			})
		if err != nil {
			return fmt.Errorf("register update %s: %w", name, err)
		}
	}
	return nil
}

// validateChannel checks a channel act. It reads state and never changes
// it; its errors say what is wrong.
func (inc *incident) validateChannel(ctx workflow.Context, name string, act workflows.Act) error {
	s := &inc.s
	if !s.Trust.Enabled {
		return fmt.Errorf("incident %s predates channel messages: %s is not taken", s.ID, name)
	}
	m := act.Channel
	if m == nil {
		return fmt.Errorf("%s: no channel message (channel)", name)
	}
	if err := checkChannelMessage(name, *m); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if act.ID != m.ActID() {
		return fmt.Errorf("%s: act id %q: a channel act's id is its message's, %q", name, act.ID, m.ActID())
	}
	if _, err := verifyChannel(&inc.in.Roster, s.ID, name, act, workflow.Now(ctx)); err != nil {
		return fmt.Errorf("%s by %s refused: %w", name, act.By, err)
	}
	if inc.seenAct(act.ID) {
		return nil // a redelivery: answered again, applied once
	}
	if s.State == workflows.Closed {
		return fmt.Errorf("incident %s is closed; channel messages are no longer recorded", s.ID)
	}
	if name == workflows.ActChannelPin {
		e, ok := inc.channelEntry(m.ChannelRef())
		switch {
		case !ok:
			return fmt.Errorf("%s: message %s of channel %s is not in the incident's channel log", name, m.TS, m.Channel)
		case e.What == deletedWhat:
			return fmt.Errorf("%s: message %s of channel %s was deleted", name, m.TS, m.Channel)
		}
	}
	return nil
}

// checkChannelMessage checks a channel message's fields and bounds.
func checkChannelMessage(name string, m workflows.ChannelMessage) error {
	var errs []error
	switch {
	case name == workflows.ActChannelPin && m.Event != workflows.ChannelPinned:
		errs = append(errs, fmt.Errorf("event: %q, want %s", m.Event, workflows.ChannelPinned))
	case name == workflows.ActChannelMessage && m.Event != workflows.ChannelPosted && m.Event != workflows.ChannelEdited && m.Event != workflows.ChannelDeleted:
		errs = append(errs, fmt.Errorf("event: %q, want %s, %s or %s", m.Event, workflows.ChannelPosted, workflows.ChannelEdited, workflows.ChannelDeleted))
	}
	for _, f := range []struct {
		field, v string
		need     bool
	}{{"channel", m.Channel, true}, {"ts", m.TS, true}, {"user", m.User, true}, {"thread_ts", m.ThreadTS, false},
		{"edit_ts", m.EditTS, m.Event == workflows.ChannelEdited}} {
		if err := checkSlackID(f.v, f.need); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.field, err))
		}
	}
	hasText := m.Event == workflows.ChannelPosted || m.Event == workflows.ChannelEdited
	switch {
	case hasText && strings.TrimSpace(m.Text) == "":
		errs = append(errs, errors.New("text: empty"))
	case !hasText && m.Text != "":
		errs = append(errs, fmt.Errorf("text: a %s event carries none", m.Event))
	case len(m.Text) > workflows.MaxTextLen:
		errs = append(errs, fmt.Errorf("text: longer than %d bytes", workflows.MaxTextLen))
	}
	return errors.Join(errs...)
}

// checkSlackID checks a Slack ID or ts: letters, digits and dots, at most
// workflows.MaxChannelIDLen bytes.
func checkSlackID(v string, need bool) error {
	if v == "" {
		if need {
			return errors.New("required")
		}
		return nil
	}
	if len(v) > workflows.MaxChannelIDLen {
		return fmt.Errorf("longer than %d bytes", workflows.MaxChannelIDLen)
	}
	for _, r := range v {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.') {
			return fmt.Errorf("%q: only letters, digits and dots", v)
		}
	}
	return nil
}

// slackClaim is the identity the Slack app vouches for: "slack:" and the
// Slack user ID.
func slackClaim(user string) string { return "slack:" + user }

// verifyChannel checks a channel act's identity. A Slack user on the
// roster acts as their roster person: the act is verified as any other (the
// Slack app vouching for them, or unsigned where the roster's
// trust.unsigned takes the act), and a signature must be the app's for that
// very Slack user. A Slack user not on the roster acts as "slack:<user ID>"
// and only with the app's signature: the entry records them and decides
// nothing. It returns how the act was verified, for the timeline. It is
// pure.
func verifyChannel(r *oncall.Roster, incident, name string, act workflows.Act, now time.Time) (string, error) {
	m := act.Channel
	claim := slackClaim(m.User)
	if act.Sig != nil && (!strings.HasPrefix(act.Sig.Key, "service:") || act.Sig.Claim != claim) {
		return "", fmt.Errorf("a channel act is signed by the Slack app for the Slack user it verified (%s), not by %s for %q", claim, act.Sig.Key, act.Sig.Claim)
	}
	if p, ok := r.PersonBySlack(m.User); ok {
		if act.By != p.ID {
			return "", fmt.Errorf("Slack user %s is %s on the roster, not %s", m.User, p.ID, act.By)
		}
		return verify(r, incident, name, act, now)
	}
	if act.By != claim {
		return "", fmt.Errorf("Slack user %s is not on the roster: their channel acts are by %q", m.User, claim)
	}
	sig := act.Sig
	if sig == nil {
		return "", fmt.Errorf("Slack user %s is not on the roster: their channel acts need the Slack app's signature", m.User)
	}
	if age := now.Sub(sig.At); age > workflows.MaxActAge || age < -workflows.MaxActSkew {
		return "", fmt.Errorf("signature made at %s, %s from the incident's clock: signed acts are taken for %s", sig.At.UTC().Format(time.RFC3339), roundAge(age), workflows.MaxActAge)
	}
	svc, _ := strings.CutPrefix(sig.Key, "service:")
	s, ok := r.Trust.ServiceByName(svc)
	if !ok {
		return "", fmt.Errorf("signed by service %q, which the roster's trust.services does not list", svc)
	}
	if !slices.Contains(s.Claims, "slack") {
		return "", fmt.Errorf("service %s may vouch for %s identities, not %q", s.Name, strings.Join(s.Claims, ", "), claim)
	}
	msg := act.SigningBytes(incident, name)
	for _, k := range append([]string{s.Key}, s.Keys...) {
		pub, err := signing.ParsePublicKey(k)
		if err == nil && signing.Verify(pub, msg, sig.Value) == nil {
			return claim + " via " + s.Name + " (not on the roster)", nil
		}
	}
	return "", fmt.Errorf("signed as service %s: %w", s.Name, signing.ErrBadSignature)
}

// deletedWhat is the What of a deletion's entry.
const deletedWhat = "deleted a message"

// channelWhat is a channel entry's What: the text after a prefix that says
// what happened; channelText takes the text back.
func channelWhat(m workflows.ChannelMessage) string {
	text := m.Text
	if m.Truncated {
		text += " [truncated]"
	}
	switch {
	case m.Event == workflows.ChannelDeleted:
		return deletedWhat
	case m.Event == workflows.ChannelEdited:
		return "edited: " + text
	case m.ThreadTS != "" && m.ThreadTS != m.TS:
		return "replied in thread: " + text
	}
	return "said: " + text
}

func channelText(what string) string {
	_, text, _ := strings.Cut(what, ": ")
	return text
}

// channelEntry returns the latest channel entry of the message ref.
func (inc *incident) channelEntry(ref string) (workflows.TimelineEntry, bool) {
	tl := inc.s.Timeline
	for i := len(tl) - 1; i >= 0; i-- {
		if tl[i].Kind == workflows.KindChannel && tl[i].Ref == ref {
			return tl[i], true
		}
	}
	return workflows.TimelineEntry{}, false
}

// applyChannel records a validated channel act and says what happened.
func (inc *incident) applyChannel(ctx workflow.Context, name string, act workflows.Act) string {
	if workflow.GetVersion(ctx, versionChannelLog, workflow.DefaultVersion, 1) != 1 {
		return "nothing to do"
	}
	now := workflow.Now(ctx)
	if inc.seenAct(act.ID) {
		return "already applied (act " + act.ID + ")"
	}
	inc.rememberAct(act.ID, now)
	verified, err := verifyChannel(&inc.in.Roster, inc.s.ID, name, act, now)
	if err != nil {
		return "nothing to do" // validate refused it; apply never runs
	}
	m, c := *act.Channel, &inc.s.Channel
	if c.Entries >= workflows.MaxChannelEntries {
		c.Dropped++
		if c.Dropped == 1 {
			inc.record(now, "datasev", workflows.KindSystem, fmt.Sprintf("channel log full: %d channel entries recorded; later channel messages and pins are counted, not recorded", workflows.MaxChannelEntries), "")
		}
		return "not recorded: the incident's channel log is full"
	}
	c.Entries++
	if name == workflows.ActChannelPin {
		e, _ := inc.channelEntry(m.ChannelRef())
		text := channelText(e.What)
		inc.s.Findings = append(inc.s.Findings, e.Who+": "+text)
		if len(inc.s.Findings) > maxFindings {
			inc.s.Findings = slices.Clone(inc.s.Findings[len(inc.s.Findings)-maxFindings:])
		}
		// The finding is its author's (whose message entry says how they
		// were verified); who pinned it, and how they were verified, is
		// the why.
		inc.s.Timeline = append(inc.s.Timeline, workflows.TimelineEntry{
			At: now, Who: e.Who, Via: act.Via, Kind: workflows.KindAct,
			What: "finding: " + text, Why: "pinned in the channel by " + act.By + " (" + verified + ")", Ref: m.ChannelRef(),
		})
		return "finding added"
	}
	inc.s.Timeline = append(inc.s.Timeline, workflows.TimelineEntry{
		At: now, Who: act.By, Via: act.Via, Verified: verified, Kind: workflows.KindChannel, What: channelWhat(m), Ref: m.ChannelRef(),
	})
	return "channel message " + m.Event
}
