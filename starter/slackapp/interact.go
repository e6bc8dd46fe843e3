package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/workflows"
)

// DenyReason is the reason recorded for a deny from a button, which asks
// for none.
const DenyReason = "denied in Slack"

// press is a click on an approval button.
type press struct {
	userID      string
	triggerID   string
	responseURL string
	approve     bool
	value       slackact.ButtonValue
	// original is the message the buttons are on (its blocks), when Slack
	// sent it.
	original []slack.Block
}

// errNotOurs marks an interaction that is not a click on an approval
// button: acknowledged and ignored.
var errNotOurs = errors.New("not an approval button")

// decodeInteraction decodes a block_actions payload and picks the approval
// button that was clicked.
func decodeInteraction(payload []byte) (press, error) {
	if len(payload) == 0 {
		return press{}, errors.New("payload is empty")
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal(payload, &cb); err != nil {
		return press{}, fmt.Errorf("payload: %w", err)
	}
	return pressFrom(cb)
}

// pressFrom picks the approval button click out of an interaction.
func pressFrom(cb slack.InteractionCallback) (press, error) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return press{}, errNotOurs
	}
	for _, a := range cb.ActionCallback.BlockActions {
		if a == nil || (a.ActionID != slackact.ApproveActionID && a.ActionID != slackact.DenyActionID) {
			continue
		}
		v, err := slackact.ParseButtonValue(a.Value)
		if err != nil {
			return press{}, err
		}
		if !strings.HasPrefix(v.Incident, workflows.WorkflowIDPrefix) {
			return press{}, fmt.Errorf("button value: %q is not an incident", v.Incident)
		}
		if cb.User.ID == "" {
			return press{}, errors.New("payload: no user")
		}
		return press{
			userID: cb.User.ID, triggerID: cb.TriggerID, responseURL: cb.ResponseURL,
			approve: a.ActionID == slackact.ApproveActionID, value: v,
			original: cb.Message.Blocks.BlockSet,
		}, nil
	}
	return press{}, errNotOurs
}

// startPress decides the approval a button click asks for, in the
// background, and posts the outcome to the click's response_url.
func (h *Handler) startPress(p press, err error) {
	if err != nil {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.ActTimeout)
		defer cancel()
		h.respond(p.responseURL, h.runPress(ctx, p))
	}()
}

// runPress sends the approve or deny and returns the message for the
// response_url: on success it replaces the request's buttons with the
// outcome; on a refusal it is an ephemeral reply and the buttons stay.
func (h *Handler) runPress(ctx context.Context, p press) *slack.WebhookMessage {
	person, ok := h.roster.PersonBySlack(p.userID)
	if !ok {
		m := notOnRoster(p.userID)
		return m
	}
	act := workflows.Act{By: person.ID, Via: Via, ID: actID(p.triggerID), Approval: p.value.Approval}
	name, verb := workflows.ActApprove, "Approved"
	if !p.approve {
		name, verb, act.Reason = workflows.ActDeny, "Denied", DenyReason
	}
	if _, err := h.act(ctx, p.userID, p.value.Incident, name, act); err != nil {
		h.log.Info("slack: button refused", "incident", p.value.Incident, "act", name, "by", person.ID, "error", err)
		return ephemeral(errorText(err))
	}
	h.log.Info("slack: button", "incident", p.value.Incident, "act", name, "approval", p.value.Approval, "by", person.ID)
	text := fmt.Sprintf("%s by %s at %s", verb, displayName(person), h.now().In(h.loc).Format("15:04"))
	return &slack.WebhookMessage{
		Text:            text,
		ReplaceOriginal: true,
		Blocks:          &slack.Blocks{BlockSet: replaceButtons(p.original, slackact.OutcomeBlocks(p.value, text))},
	}
}

// replaceButtons returns the original message's blocks with the approval
// buttons' block (slackact.ApprovalBlockID) replaced by the outcome, so
// the request's text stays. Without the original blocks, or without the
// buttons' block in them, it is the outcome alone.
func replaceButtons(original, outcome []slack.Block) []slack.Block {
	for i, b := range original {
		if b != nil && b.ID() == slackact.ApprovalBlockID {
			out := make([]slack.Block, 0, len(original)-1+len(outcome))
			out = append(out, original[:i]...)
			out = append(out, outcome...)
			return append(out, original[i+1:]...)
		}
	}
	return outcome
}
