package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// Action IDs of the approval buttons the Slack notifier posts. They match
// slackact's ApproveActionID and DenyActionID.
const (
	ApproveActionID = "datasev_approve"
	DenyActionID    = "datasev_deny"
)

// DenyReason is the reason recorded for a deny from a button, which asks
// for none.
const DenyReason = "denied in Slack"

// ButtonValue is the value of an approval button: which incident and which
// approval. It is the JSON the notifier writes ({"incident":…,"approval":…}).
type ButtonValue struct {
	Incident string `json:"incident"`
	Approval string `json:"approval"`
}

// ParseButtonValue decodes a button's value; both fields are required.
func ParseButtonValue(v string) (ButtonValue, error) {
	var b ButtonValue
	if err := json.Unmarshal([]byte(v), &b); err != nil {
		return ButtonValue{}, fmt.Errorf("button value: %w", err)
	}
	b.Incident, b.Approval = strings.TrimSpace(b.Incident), strings.TrimSpace(b.Approval)
	if !strings.HasPrefix(b.Incident, workflows.WorkflowIDPrefix) || b.Approval == "" {
		return ButtonValue{}, errors.New("button value: incident (an incident workflow ID) and approval are required")
	}
	return b, nil
}

// press is a click on an approval button.
type press struct {
	userID      string
	triggerID   string
	responseURL string
	approve     bool
	value       ButtonValue
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
		if a == nil || (a.ActionID != ApproveActionID && a.ActionID != DenyActionID) {
			continue
		}
		v, err := ParseButtonValue(a.Value)
		if err != nil {
			return press{}, err
		}
		if cb.User.ID == "" {
			return press{}, errors.New("payload: no user")
		}
		return press{
			userID: cb.User.ID, triggerID: cb.TriggerID, responseURL: cb.ResponseURL,
			approve: a.ActionID == ApproveActionID, value: v,
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
	if _, err := incidents.Act(ctx, h.c, p.value.Incident, name, act); err != nil {
		h.log.Info("slack: button refused", "incident", p.value.Incident, "act", name, "by", person.ID, "error", err)
		return ephemeral(errorText(err))
	}
	h.log.Info("slack: button", "incident", p.value.Incident, "act", name, "approval", p.value.Approval, "by", person.ID)
	text := fmt.Sprintf("%s by %s at %s", verb, displayName(person), h.now().In(h.loc).Format("15:04"))
	return &slack.WebhookMessage{
		Text:            text,
		ReplaceOriginal: true,
		Blocks:          &slack.Blocks{BlockSet: outcomeBlocks(p.value, text)},
	}
}

// outcomeBlocks is what replaces an approval request's buttons once it is
// decided.
func outcomeBlocks(v ButtonValue, outcome string) []slack.Block {
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
			fmt.Sprintf("*%s*: approval `%s` on `%s`", outcome, v.Approval, v.Incident), false, false), nil, nil),
	}
}
