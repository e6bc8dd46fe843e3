package slackact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/datasev/datasev/activities/support/mdtext"
	"github.com/datasev/datasev/workflows"
)

// Action and block IDs of the approval buttons. The Slack intake matches
// them in block_actions payloads.
const (
	// ApproveActionID is the action_id of the Approve button.
	ApproveActionID = "datasev_approve"
	// DenyActionID is the action_id of the Deny button.
	DenyActionID = "datasev_deny"
	// ApprovalBlockID is the block_id of the actions block holding the two
	// buttons; the intake replaces that block with OutcomeBlocks.
	ApprovalBlockID = "datasev_approval"
	// OutcomeBlockID is the block_id of the section OutcomeBlocks returns.
	OutcomeBlockID = "datasev_outcome"
)

// maxButtonValue is Slack's limit on a button's value.
const maxButtonValue = 2000

// maxBlocks is Slack's limit on the blocks of one message.
const maxBlocks = 50

// ButtonValue is what an approval button carries: which incident and
// which of its pending approvals the click decides. Its JSON form is the
// button's value.
type ButtonValue struct {
	// Incident is the incident's workflow ID.
	Incident string `json:"incident"`
	// Approval is the pending approval's ID.
	Approval string `json:"approval"`
}

// Encode returns v as a button value: compact JSON.
func (v ButtonValue) Encode() (string, error) {
	if err := v.validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode button value: %w", err)
	}
	if len(b) > maxButtonValue {
		return "", fmt.Errorf("button value is %d bytes, over Slack's %d", len(b), maxButtonValue)
	}
	return string(b), nil
}

func (v ButtonValue) validate() error {
	switch {
	case strings.TrimSpace(v.Incident) == "":
		return errors.New("button value: no incident")
	case strings.TrimSpace(v.Approval) == "":
		return errors.New("button value: no approval")
	}
	return nil
}

// ParseButtonValue decodes a button's value written by the backend. It
// refuses anything else: other JSON, unknown fields, trailing data, an
// empty incident or approval, values over Slack's 2000 characters.
func ParseButtonValue(s string) (ButtonValue, error) {
	if len(s) > maxButtonValue {
		return ButtonValue{}, fmt.Errorf("button value: %d bytes, over Slack's %d", len(s), maxButtonValue)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var v ButtonValue
	if err := dec.Decode(&v); err != nil {
		return ButtonValue{}, fmt.Errorf("button value %q: %w", mdtext.Truncate(s, 80), err)
	}
	if dec.More() {
		return ButtonValue{}, fmt.Errorf("button value %q: trailing data", mdtext.Truncate(s, 80))
	}
	var rest bytes.Buffer
	if _, err := rest.ReadFrom(dec.Buffered()); err == nil && strings.TrimSpace(rest.String()) != "" {
		return ButtonValue{}, fmt.Errorf("button value %q: trailing data", mdtext.Truncate(s, 80))
	}
	if err := v.validate(); err != nil {
		return ButtonValue{}, err
	}
	return v, nil
}

// OutcomeBlocks are the blocks that replace an approval's buttons once it
// is decided: a section with the outcome (plain text, escaped) and a
// context line naming the incident and approval. The intake puts them
// where the ApprovalBlockID block was, through the click's response_url.
func OutcomeBlocks(v ButtonValue, outcome string) []slack.Block {
	outcome = strings.TrimSpace(outcome)
	if outcome == "" {
		outcome = "Decided."
	}
	text := mdtext.Truncate(escape(outcome), SectionLimit)
	return []slack.Block{
		slack.NewSectionBlock(mrkdwnText(text), nil, nil,
			slack.SectionBlockOptionBlockID(OutcomeBlockID)),
		slack.NewContextBlock("",
			mrkdwnText(mdtext.Truncate(fmt.Sprintf("approval `%s` · incident `%s`", escape(v.Approval), escape(v.Incident)), SectionLimit))),
	}
}

// kindEmoji marks a message's kind.
var kindEmoji = map[workflows.NotifyKind]string{
	workflows.NotifyPage:           ":rotating_light:",
	workflows.NotifyPost:           ":memo:",
	workflows.NotifyHandoffSummary: ":handshake:",
	workflows.NotifyStatusUpdate:   ":loudspeaker:",
}

// message is one composed Slack message.
type message struct {
	text   string
	blocks []slack.Block
}

func (m message) options() []slack.MsgOption {
	return []slack.MsgOption{
		slack.MsgOptionText(m.text, false),
		slack.MsgOptionBlocks(m.blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
	}
}

// maxBodySections bounds the body's sections so that the title, the
// truncation note, the approval and the context still fit in 50 blocks.
const maxBodySections = maxBlocks - 6

// compose builds the message for a notification. mention is how the paged
// person is addressed ("<@U…>" or their name), "" for channel posts.
func compose(n workflows.Notification, mention string) (message, error) {
	head := escape(oneLine(n.Subject))
	if n.Severity != "" {
		head = "[" + escape(n.Severity) + "] " + head
	}
	title := kindEmoji[n.Kind] + " *" + head + "*"
	if mention != "" {
		title = mention + " " + title
	}
	blocks := []slack.Block{section(mdtext.Truncate(title, SectionLimit), "")}
	if body := strings.TrimSpace(n.Body); body != "" {
		pieces := splitMrkdwn(Mrkdwn(body), SectionLimit)
		if len(pieces) > maxBodySections {
			omitted := 0
			for _, p := range pieces[maxBodySections-1:] {
				omitted += textLen(p)
			}
			pieces = append(pieces[:maxBodySections-1:maxBodySections-1],
				fmt.Sprintf("_… %d more characters not shown; the incident's timeline has the whole text._", omitted))
		}
		for _, p := range pieces {
			if strings.TrimSpace(p) != "" {
				blocks = append(blocks, section(p, ""))
			}
		}
	}
	if ap := n.Approval; ap != nil {
		val, err := ButtonValue{Incident: n.Incident, Approval: ap.ID}.Encode()
		if err != nil {
			return message{}, err
		}
		ask := fmt.Sprintf("*Approval needed:* `%s`", escape(ap.Action))
		if ap.Approver != "" {
			ask += " — the " + escape(ap.Approver) + " decides"
		}
		if !ap.Deadline.IsZero() {
			ask += fmt.Sprintf(" by <!date^%d^{date_short_pretty} {time}|%s>", ap.Deadline.Unix(), ap.Deadline.UTC().Format("2006-01-02 15:04 UTC"))
		}
		blocks = append(blocks, section(mdtext.Truncate(ask, SectionLimit), ""))
		approve := slack.NewButtonBlockElement(ApproveActionID, val,
			slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)).WithStyle(slack.StylePrimary)
		deny := slack.NewButtonBlockElement(DenyActionID, val,
			slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false)).WithStyle(slack.StyleDanger).
			WithConfirm(slack.NewConfirmationBlockObject(
				slack.NewTextBlockObject(slack.PlainTextType, "Deny this action?", false, false),
				mrkdwnText(mdtext.Truncate("`"+escape(ap.Action)+"` will not run.", 300)),
				slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false),
				slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false)).WithStyle(slack.StyleDanger))
		blocks = append(blocks, slack.NewActionBlock(ApprovalBlockID, approve, deny))
	}
	ctx := fmt.Sprintf("incident `%s` · %s", escape(n.Incident), n.Kind)
	blocks = append(blocks, slack.NewContextBlock("",
		mrkdwnText(mdtext.Truncate(ctx, SectionLimit))))

	text := oneLine(n.Subject)
	if n.Severity != "" {
		text = "[" + n.Severity + "] " + text
	}
	text = escape(text)
	if mention != "" {
		text = mention + " " + text
	}
	if n.Approval != nil {
		text += " — approval needed: " + escape(n.Approval.Action)
	}
	return message{text: mdtext.Truncate(text, 3000), blocks: blocks}, nil
}

// mrkdwnText is every mrkdwn text object datasev sends: verbatim, so Slack
// does not turn a plain "@here", "#channel" or URL into a mention or a
// link. Manual references (datasev's own <@U…>, <#C…>, <!date^…>, links)
// still work; untrusted text reaches it only through escape or Mrkdwn,
// which neutralize the references typed in it.
func mrkdwnText(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

func section(text, blockID string) *slack.SectionBlock {
	var opts []slack.SectionBlockOption
	if blockID != "" {
		opts = append(opts, slack.SectionBlockOptionBlockID(blockID))
	}
	return slack.NewSectionBlock(mrkdwnText(text), nil, nil, opts...)
}

// oneLine folds a subject onto one line.
func oneLine(s string) string {
	s = mdtext.OneLine(s)
	if s == "" {
		return "(no subject)"
	}
	return s
}
