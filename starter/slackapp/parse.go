package slackapp

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/datasev/datasev/workflows"
)

// Subcommands of /incident.
const (
	subDeclare = "declare"
	subStatus  = "status"
	subAck     = "ack"
	subRole    = "role"
	subSev     = "sev"
	subNote    = "note"
	subApprove = "approve"
	subDeny    = "deny"
	subResolve = "resolve"
	subHandoff = "handoff"
	subHelp    = "help"
	// Closure inputs for the postmortem.
	subRootCause = "root-cause"
	subFactor    = "factor"
	subAction    = "action"
	// The status update due at the severity's cadence.
	subUpdate = "update"
	// Public wording for the status page.
	subPublish = "publish"
	// Groups and links: split a member out, relate or merge incidents.
	subSplit  = "split"
	subRelate = "relate"
	subMerge  = "merge"
	// Automatic approvals by runbook policies: the Commander pauses and
	// resumes them in this incident.
	subPauseAuto  = "pause-auto"
	subResumeAuto = "resume-auto"
)

// publicStatuses are the public statuses publish accepts before the
// wording; without one the incident's state decides.
var publicStatuses = map[string]bool{"investigating": true, "identified": true, "monitoring": true}

// usage is each subcommand's syntax, as help and usage errors show it.
var usage = map[string]string{
	subDeclare: "/incident declare <title> [sev1..sev5]",
	subStatus:  "/incident [@<incident>] status",
	subAck:     "/incident [@<incident>] ack",
	subRole:    "/incident [@<incident>] role <commander|scribe|liaison|sme> <person or @mention>",
	subSev:     "/incident [@<incident>] sev <SEV1..SEV5> [reason]",
	subNote:    "/incident [@<incident>] note <text>",
	subApprove: "/incident [@<incident>] approve <approval-id> [reason]",
	subDeny:    "/incident [@<incident>] deny <approval-id> <reason>",
	subResolve: "/incident [@<incident>] resolve [reason]",
	subHandoff: "/incident [@<incident>] handoff accept",
	subHelp:    "/incident help",
	// closure inputs
	subRootCause: "/incident [@<incident>] root-cause <text>",
	subFactor:    "/incident [@<incident>] factor <text>",
	subAction:    "/incident [@<incident>] action <text>",
	subUpdate:    "/incident [@<incident>] update <text>",
	subPublish:   "/incident [@<incident>] publish [investigating|identified|monitoring] <public wording>",
	// groups and links
	subSplit:  "/incident [@<incident>] split <member key> [reason]",
	subRelate: "/incident [@<incident>] relate <other incident>",
	subMerge:  "/incident [@<incident>] merge <incident to merge into> [reason]",
	// automatic approvals
	subPauseAuto:  "/incident [@<incident>] pause-auto [reason]",
	subResumeAuto: "/incident [@<incident>] resume-auto [reason]",
}

// subOrder is the order help lists the subcommands in.
var subOrder = []string{subDeclare, subStatus, subAck, subRole, subSev, subNote, subApprove, subDeny, subResolve, subHandoff, subUpdate, subPublish, subRootCause, subFactor, subAction, subSplit, subRelate, subMerge, subPauseAuto, subResumeAuto, subHelp}

// helpText lists every subcommand.
func helpText() string {
	var b strings.Builder
	b.WriteString("*/incident* runs datasev incidents from Slack. In an incident's channel the incident is implied; elsewhere name it first: `/incident @<incident id or dedupe key> status`.\n")
	for _, s := range subOrder {
		fmt.Fprintf(&b, "• `%s`\n", usage[s])
	}
	return b.String()
}

// command is a parsed /incident invocation.
type command struct {
	// name is the subcommand.
	name string
	// target is the incident named with @<id or dedupe key>; empty means the
	// channel's incident.
	target string
	// title and severity, for declare (severity may be empty).
	title    string
	severity workflows.Severity
	// role and person, for role. person is a roster ID, or a Slack user ID
	// when slackUser is set (from a <@U…> mention).
	role      workflows.Role
	person    string
	slackUser bool
	// note, for note and the other free-text subcommands (publish's
	// public wording).
	note string
	// status, for publish: the public status, "" for the incident's
	// state to decide.
	status string
	// approval, for approve and deny.
	approval string
	// reason, for sev, approve, deny, resolve, split, merge, pause-auto,
	// resume-auto.
	reason string
	// member, for split: the member's key as status lists it.
	member string
	// other, for relate and merge: the other incident's workflow ID.
	other string
}

// usageError is bad syntax: what is wrong and the subcommand's usage.
type usageError struct {
	sub string
	msg string
}

func (e *usageError) Error() string {
	u, ok := usage[e.sub]
	if !ok {
		return e.msg + "\n" + helpText()
	}
	return e.msg + "\nUsage: `" + u + "`"
}

func bad(sub, format string, args ...any) error {
	return &usageError{sub: sub, msg: fmt.Sprintf(format, args...)}
}

// cut returns the first whitespace-delimited token of s and the rest, with
// leading white space removed from both.
func cut(s string) (tok, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeftFunc(s[i:], unicode.IsSpace)
}

// unescape undoes Slack's escaping of &, < and > in command text.
var unescape = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// mention matches a Slack user mention as Slack sends it: <@U123> or
// <@U123|name>.
var mention = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$`)

// sevWord matches the optional severity that ends a declare: sev1..sev5.
var sevWord = regexp.MustCompile(`(?i)^sev[1-5]$`)

// maxApprovalID bounds an approval ID typed in chat.
const maxApprovalID = 200

// parseCommand parses the text of /incident. An incident may be named with
// @<id or dedupe key> before the subcommand or right after it.
func parseCommand(text string) (command, error) {
	c, rest, err := parseHead(text)
	if err != nil || c.name == subHelp {
		return c, err
	}
	if err := c.parseArgs(rest); err != nil {
		return c, err
	}
	if len(c.reason) > workflows.MaxTextLen {
		return c, bad(c.name, "the reason is longer than %d bytes", workflows.MaxTextLen)
	}
	return c, nil
}

// parseHead parses the subcommand and the incident it names (before or
// right after it), and returns the rest of the text, trimmed. An empty
// text is help.
func parseHead(text string) (c command, rest string, err error) {
	tok, rest := cut(text)
	if strings.HasPrefix(tok, "@") {
		c.target = tok[1:]
		if c.target == "" {
			return c, "", bad("", "name the incident right after @, e.g. `/incident @orders-load-failed status`")
		}
		tok, rest = cut(rest)
	}
	c.name = strings.ToLower(tok)
	if c.name == "" {
		if c.target != "" {
			return c, "", bad("", "say what to do with incident %s", c.target)
		}
		c.name = subHelp
		return c, "", nil
	}
	if _, ok := usage[c.name]; !ok {
		return c, "", bad("", "unknown subcommand %q", tok)
	}
	if c.target == "" && c.name != subDeclare && c.name != subHelp {
		if next, after := cut(rest); strings.HasPrefix(next, "@") {
			c.target = next[1:]
			if c.target == "" {
				return c, "", bad(c.name, "name the incident right after @")
			}
			rest = after
		}
	}
	if (c.name == subDeclare || c.name == subHelp) && c.target != "" {
		return c, "", bad(c.name, "%s takes no incident", c.name)
	}
	return c, strings.TrimSpace(rest), nil
}

// parseArgs parses the subcommand's arguments, rest.
func (c *command) parseArgs(rest string) error {
	switch c.name {
	case subStatus, subAck:
		if rest != "" {
			return bad(c.name, "%s takes no arguments", c.name)
		}
	case subDeclare:
		return c.parseDeclare(rest)
	case subRole:
		return c.parseRole(rest)
	case subSev:
		sevTok, r := cut(rest)
		if sevTok == "" {
			return bad(c.name, "give the new severity")
		}
		sev, err := workflows.ParseSeverity(sevTok)
		if err != nil {
			return bad(c.name, "%v", err)
		}
		c.severity, c.reason = sev, unescape.Replace(r)
	case subNote, subRootCause, subFactor, subAction, subUpdate:
		if rest == "" {
			if c.name != subNote {
				return bad(c.name, "the text is empty; write the %s", strings.ReplaceAll(c.name, "-", " "))
			}
			return bad(c.name, "the note is empty; say what you found or did")
		}
		return c.setNote(rest, "the note")
	case subPublish:
		if tok, r := cut(rest); publicStatuses[strings.ToLower(tok)] {
			c.status, rest = strings.ToLower(tok), r
		}
		if rest == "" {
			return bad(c.name, "the public wording is empty; write what the status page should say")
		}
		return c.setNote(rest, "the public wording")
	case subApprove, subDeny:
		return c.parseApproval(rest)
	case subResolve, subPauseAuto, subResumeAuto:
		c.reason = unescape.Replace(rest)
	case subHandoff:
		if !strings.EqualFold(rest, "accept") {
			return bad(c.name, "the only handoff subcommand is accept")
		}
	case subSplit:
		key, r := cut(rest)
		if key == "" {
			return bad(c.name, "name the alert: its key, as status lists the members")
		}
		if len(key) > workflows.MaxDedupeKeyLen {
			return bad(c.name, "the key is longer than %d bytes", workflows.MaxDedupeKeyLen)
		}
		c.member, c.reason = key, unescape.Replace(r)
	case subRelate, subMerge:
		other, r := cut(rest)
		if other == "" {
			return bad(c.name, "name the other incident: its ID or dedupe key")
		}
		if len(other) > len(workflows.WorkflowIDPrefix)+workflows.MaxDedupeKeyLen {
			return bad(c.name, "the incident is longer than %d bytes", len(workflows.WorkflowIDPrefix)+workflows.MaxDedupeKeyLen)
		}
		if c.name == subRelate && r != "" {
			return bad(c.name, "relate takes one incident")
		}
		if !strings.HasPrefix(other, workflows.WorkflowIDPrefix) {
			other = workflows.WorkflowID(other)
		}
		c.other, c.reason = other, unescape.Replace(r)
	}
	return nil
}

// parseDeclare parses declare's title and optional trailing severity.
func (c *command) parseDeclare(rest string) error {
	title := rest
	fields := strings.Fields(rest)
	if n := len(fields); n > 0 && sevWord.MatchString(fields[n-1]) {
		c.severity = workflows.Severity(strings.ToUpper(fields[n-1]))
		title = strings.TrimSpace(rest[:strings.LastIndex(rest, fields[n-1])])
	}
	c.title = unescape.Replace(title)
	if strings.TrimSpace(c.title) == "" {
		return bad(c.name, "say what is wrong: the title is required")
	}
	if len(c.title) > workflows.MaxTitleLen {
		return bad(c.name, "the title is longer than %d bytes", workflows.MaxTitleLen)
	}
	return nil
}

// parseRole parses role's role and person (roster ID or @mention).
func (c *command) parseRole(rest string) error {
	roleTok, r := cut(rest)
	personTok, extra := cut(r)
	if roleTok == "" || personTok == "" || extra != "" {
		return bad(c.name, "give a role and one person")
	}
	role, err := workflows.ParseRole(roleTok)
	if err != nil {
		return bad(c.name, "%v", err)
	}
	c.role = role
	if m := mention.FindStringSubmatch(personTok); m != nil {
		c.person, c.slackUser = m[1], true
		return nil
	}
	c.person = strings.TrimPrefix(personTok, "@")
	if c.person == "" || strings.ContainsAny(c.person, "<>&") {
		return bad(c.name, "name the person by roster ID or @mention")
	}
	return nil
}

// setNote sets the act's text from rest; what names it in the error when
// it is too long.
func (c *command) setNote(rest, what string) error {
	c.note = unescape.Replace(rest)
	if len(c.note) > workflows.MaxTextLen {
		return bad(c.name, "%s is longer than %d bytes", what, workflows.MaxTextLen)
	}
	return nil
}

// parseApproval parses approve's and deny's approval ID and reason (which
// deny requires).
func (c *command) parseApproval(rest string) error {
	id, r := cut(rest)
	if id == "" {
		return bad(c.name, "name the approval (its ID is in the request, e.g. revert-abc123)")
	}
	if len(id) > maxApprovalID {
		return bad(c.name, "the approval ID is longer than %d bytes", maxApprovalID)
	}
	c.approval, c.reason = id, unescape.Replace(r)
	if c.name == subDeny && c.reason == "" {
		return bad(c.name, "say why you deny it")
	}
	return nil
}

// inChannel reports whether a subcommand's reply is shown to the whole
// channel rather than only to the person who ran it.
func inChannel(sub string) bool {
	switch sub {
	case subDeclare, subAck, subSev, subResolve, subUpdate, subPublish, subSplit, subRelate, subMerge, subPauseAuto, subResumeAuto:
		return true
	}
	return false
}
