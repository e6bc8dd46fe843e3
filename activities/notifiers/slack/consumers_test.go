package slackact_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/actions"
	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/runbooks"
)

func TestConsumerChannelsFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == slackact.EnvConsumerChannels {
				return v
			}
			return ""
		}
	}
	got, err := slackact.ConsumerChannelsFromEnv(env(" Finance=#Finance-Data, growth = C0123ABCD ,,data-eng@acme.com=#data_eng,finance=#finance-data"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"finance": "#finance-data", "growth": "C0123ABCD", "data-eng@acme.com": "#data_eng"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got, err := slackact.ConsumerChannelsFromEnv(env("")); err != nil || len(got) != 0 {
		t.Fatalf("unset: %v %v", got, err)
	}
	for _, tc := range []struct{ value, entry, why string }{
		{"finance", `"finance"`, "no ="},
		{"=#x", `"=#x"`, "no owner"},
		{"finance=", `"finance="`, "no channel"},
		{"finance=#has space", `"finance=#has space"`, "channel name"},
		{"finance=#" + strings.Repeat("a", 81), "finance=#aaa", "channel name"},
		{"finance=finance-data", `"finance=finance-data"`, "neither #name nor a channel ID"},
		{"a=#x,finance=c0123abcd", `"finance=c0123abcd"`, "neither #name"},
		{"finance=#a,finance=#b", `"finance=#b"`, `already mapped to #a`},
	} {
		_, err := slackact.ConsumerChannelsFromEnv(env(tc.value))
		if err == nil {
			t.Errorf("%q: no error", tc.value)
			continue
		}
		for _, s := range []string{slackact.EnvConsumerChannels, tc.entry, tc.why} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%q: error %q does not contain %q", tc.value, err, s)
			}
		}
	}
}

// consumerFixture is a stand-in workspace with consumer channels.
type consumerFixture struct {
	srv                        *slacktest.Server
	finance, growth, analytics string // channel IDs
	client                     *slack.Client
}

func newConsumerFixture(t *testing.T) *consumerFixture {
	t.Helper()
	f := &consumerFixture{srv: newServer(t)}
	// A crowd of channels first, so that finding them takes pages.
	for i := range 450 {
		f.srv.AddChannel(slacktest.Channel{Name: "random-" + itoa(i), Members: []string{slacktest.BotUserID}})
	}
	f.finance = f.srv.AddChannel(slacktest.Channel{Name: "finance-data", Members: []string{aliceSlack, slacktest.BotUserID}})
	f.growth = f.srv.AddChannel(slacktest.Channel{Name: "growth", Members: []string{bobSlack}}) // the bot is not in it
	f.analytics = f.srv.AddChannel(slacktest.Channel{Name: "analytics", Members: []string{slacktest.BotUserID}})
	f.client = slack.New(slacktest.Token, slack.OptionAPIURL(f.srv.APIURL()))
	return f
}

func (f *consumerFixture) consumers(channels map[string]string) *slackact.Consumers {
	return slackact.NewConsumers(f.client, channels, nil)
}

var consumerMap = map[string]string{
	"finance": "#finance-data", "growth": "#growth", "marketing": "#analytics", "sales": "#analytics",
}

func consumerReq(step string) runbooks.ActionRequest {
	return runbooks.ActionRequest{Incident: "incident-orders-late", Runbook: "orders", Step: step}
}

func consumerIn(owners ...string) slackact.NotifyConsumersInput {
	return slackact.NotifyConsumersInput{
		Owners: owners, Dataset: "orders_daily", Severity: "SEV2",
		Message: "Figures for **today** may be short; hold <decisions> & reports.",
		Impact:  "2 models and 1 exposure downstream",
	}
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%v (%T) is not a list", v, v)
	}
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = x.(string)
	}
	return out
}

// metadataOf decodes a posted message's metadata.
func metadataOf(t *testing.T, m slacktest.Message) slack.SlackMetadata {
	t.Helper()
	var md slack.SlackMetadata
	if err := json.Unmarshal(m.Metadata, &md); err != nil {
		t.Fatalf("metadata %s: %v", m.Metadata, err)
	}
	return md
}

func TestNotifyConsumersTwoOwnersTwoChannels(t *testing.T) {
	f := newConsumerFixture(t)
	c := f.consumers(consumerMap)
	res, err := c.NotifyConsumers(t.Context(), consumerReq("tell_consumers"), consumerIn("finance", "growth"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(t, res.Output["posted"]); !reflect.DeepEqual(got, []string{"#finance-data", "#growth"}) {
		t.Fatalf("posted %v; %s", got, res.Summary)
	}
	if res.Output["count"] != 2 || len(strs(t, res.Output["unmapped"])) != 0 || len(res.Output["failed"].([]any)) != 0 {
		t.Fatalf("output %v", res.Output)
	}
	for _, id := range []string{f.finance, f.growth} {
		msgs := f.srv.Messages(id)
		if len(msgs) != 1 {
			t.Fatalf("channel %s has %d messages, want 1", id, len(msgs))
		}
		m := msgs[0]
		body := strings.Join(sectionTexts(m), "\n")
		for _, want := range []string{"*[SEV2] Data incident affecting `orders_daily`*", "*today*", "&lt;decisions&gt; &amp; reports",
			"*Impact:* 2 models and 1 exposure downstream", "incident-orders-late"} {
			if !strings.Contains(body, want) {
				t.Errorf("channel %s: message %q lacks %q", id, body, want)
			}
		}
		if !strings.Contains(m.Text, "orders_daily") || strings.Contains(body, "**") {
			t.Errorf("text %q / body %q", m.Text, body)
		}
		md := metadataOf(t, m)
		if md.EventType != slackact.ConsumerMetadataEventType || md.EventPayload["incident"] != "incident-orders-late" || md.EventPayload["step"] != "tell_consumers" {
			t.Errorf("metadata %+v", md)
		}
	}
	if body := strings.Join(sectionTexts(f.srv.Messages(f.finance)[0]), "\n"); !strings.Contains(body, "finance owns models") {
		t.Errorf("finance's notice does not say who it is for: %q", body)
	}
	// The bot joined #growth to post there.
	if !contains(f.srv.Members(f.growth), slacktest.BotUserID) || f.srv.Calls("conversations.join") != 1 {
		t.Errorf("growth members %v, joins %d", f.srv.Members(f.growth), f.srv.Calls("conversations.join"))
	}
}

func TestNotifyConsumersSharedChannelOnePost(t *testing.T) {
	f := newConsumerFixture(t)
	res, err := f.consumers(consumerMap).NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("marketing", "Sales", "marketing"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(t, res.Output["posted"]); !reflect.DeepEqual(got, []string{"#analytics"}) || res.Output["count"] != 1 {
		t.Fatalf("output %v", res.Output)
	}
	msgs := f.srv.Messages(f.analytics)
	if len(msgs) != 1 {
		t.Fatalf("#analytics has %d messages, want 1", len(msgs))
	}
	if body := strings.Join(sectionTexts(msgs[0]), "\n"); !strings.Contains(body, "marketing and Sales own models") {
		t.Errorf("body %q does not name both owners", body)
	}
}

func TestNotifyConsumersUnmappedAndChannelOwners(t *testing.T) {
	f := newConsumerFixture(t)
	res, err := f.consumers(consumerMap).NotifyConsumers(t.Context(), consumerReq("tell"),
		consumerIn("ops", "#Analytics", "data-eng@acme.com", " "))
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(t, res.Output["unmapped"]); !reflect.DeepEqual(got, []string{"ops", "data-eng@acme.com"}) {
		t.Fatalf("unmapped %v", got)
	}
	if got := strs(t, res.Output["posted"]); !reflect.DeepEqual(got, []string{"#analytics"}) {
		t.Fatalf("posted %v", got)
	}
	if len(f.srv.Messages(f.analytics)) != 1 || !strings.Contains(res.Summary, "ops") || !strings.Contains(res.Summary, slackact.EnvConsumerChannels) {
		t.Fatalf("summary %q, messages %d", res.Summary, len(f.srv.Messages(f.analytics)))
	}

	// Nobody mapped: nothing to do, not an error.
	res, err = f.consumers(nil).NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("ops"))
	if err != nil || res.Output["count"] != 0 || f.srv.Calls("chat.postMessage") != 1 {
		t.Fatalf("nobody mapped: %v %v", res, err)
	}
	// A malformed #name is bad input.
	_, err = f.consumers(nil).NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("#no spaces"))
	actiontest.NonRetryable(t, err, slackact.BadRequestType)
}

func TestNotifyConsumersChannelByID(t *testing.T) {
	f := newConsumerFixture(t)
	res, err := f.consumers(map[string]string{"growth": f.growth, "gone": "C0GONE0000"}).NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("growth", "gone"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(t, res.Output["posted"]); !reflect.DeepEqual(got, []string{f.growth}) {
		t.Fatalf("posted %v", got)
	}
	failed := res.Output["failed"].([]any)
	if len(failed) != 1 || failed[0].(map[string]any)["channel"] != "C0GONE0000" || failed[0].(map[string]any)["reason"] != "channel_not_found" {
		t.Fatalf("failed %v", failed)
	}
	// No name to find: no conversations.list; not a member: history said
	// not_in_channel, the bot joined.
	if f.srv.Calls("conversations.list") != 0 || f.srv.Calls("conversations.join") != 1 || len(f.srv.Messages(f.growth)) != 1 {
		t.Fatalf("list %d, join %d, messages %d", f.srv.Calls("conversations.list"), f.srv.Calls("conversations.join"), len(f.srv.Messages(f.growth)))
	}
}

func TestNotifyConsumersRetryDoesNotPostTwice(t *testing.T) {
	f := newConsumerFixture(t)
	req := consumerReq("tell_consumers")
	// The post in the second channel fails with a 502: the activity fails,
	// retryable, after posting in the first.
	f.srv.Fail(slacktest.Fault{Method: "chat.postMessage", Status: 502})
	c := f.consumers(consumerMap)
	_, err := c.NotifyConsumers(t.Context(), req, consumerIn("finance", "growth"))
	var appErr *temporal.ApplicationError
	if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if len(f.srv.Messages(f.finance))+len(f.srv.Messages(f.growth)) != 0 {
		t.Fatal("a post despite the fault")
	}
	// Temporal retries, on another worker (nothing in memory): each channel
	// gets exactly one notice.
	for attempt := range 3 {
		res, err := f.consumers(consumerMap).NotifyConsumers(t.Context(), req, consumerIn("finance", "growth"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strs(t, res.Output["posted"]); len(got) != 2 || res.Output["count"] != 2 {
			t.Fatalf("attempt %d: posted %v", attempt, got)
		}
		if attempt > 0 && len(strs(t, res.Output["already_posted"])) != 2 {
			t.Fatalf("attempt %d: already_posted %v", attempt, res.Output["already_posted"])
		}
	}
	for _, id := range []string{f.finance, f.growth} {
		if n := len(f.srv.Messages(id)); n != 1 {
			t.Errorf("channel %s has %d notices, want 1", id, n)
		}
	}
	// Another step (or incident) is a new notice.
	if _, err := c.NotifyConsumers(t.Context(), consumerReq("tell_again"), consumerIn("finance")); err != nil {
		t.Fatal(err)
	}
	other := runbooks.ActionRequest{Incident: "incident-other", Step: "tell_consumers"}
	if _, err := c.NotifyConsumers(t.Context(), other, consumerIn("finance")); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Messages(f.finance)); n != 3 {
		t.Errorf("#finance-data has %d notices, want 3", n)
	}
}

func TestNotifyConsumersDryRunPostsNothing(t *testing.T) {
	f := newConsumerFixture(t)
	req := consumerReq("tell")
	req.DryRun = true
	res, err := f.consumers(consumerMap).NotifyConsumers(t.Context(), req, consumerIn("finance", "sales", "marketing", "ops"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(t, res.Output["would_post"]); !reflect.DeepEqual(got, []string{"#finance-data", "#analytics"}) {
		t.Fatalf("would_post %v", got)
	}
	if res.Output["count"] != 0 || len(strs(t, res.Output["posted"])) != 0 || !strings.Contains(res.Summary, "would post to #finance-data, #analytics") {
		t.Fatalf("dry run %v: %s", res.Output, res.Summary)
	}
	for _, m := range []string{"chat.postMessage", "conversations.join", "conversations.history"} {
		if n := f.srv.Calls(m); n != 0 {
			t.Errorf("dry run called %s %d times", m, n)
		}
	}
}

func TestNotifyConsumersArchivedAndMissingChannelsFail(t *testing.T) {
	f := newConsumerFixture(t)
	old := f.srv.AddChannel(slacktest.Channel{Name: "old-finance", IsArchived: true, Members: []string{slacktest.BotUserID}})
	oldOut := f.srv.AddChannel(slacktest.Channel{Name: "old-growth", IsArchived: true})
	secret := f.srv.AddChannel(slacktest.Channel{Name: "secret", IsPrivate: true})
	m := map[string]string{"finance": "#old-finance", "growth": "#old-growth", "sales": "#analytics", "ops": "#nowhere", "exec": "#secret", "legal": oldOut, "hr": old}
	res, err := f.consumers(m).NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("finance", "growth", "sales", "ops", "exec", "legal", "hr"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(t, res.Output["posted"]); !reflect.DeepEqual(got, []string{"#analytics"}) {
		t.Fatalf("posted %v", got)
	}
	reasons := map[string]string{}
	for _, x := range res.Output["failed"].([]any) {
		fm := x.(map[string]any)
		reasons[fm["channel"].(string)] = fm["reason"].(string)
	}
	want := map[string]string{"#old-finance": "is_archived", "#old-growth": "is_archived", "#nowhere": "channel_not_found",
		"#secret": "channel_not_found", oldOut: "is_archived", old: "is_archived"}
	if !reflect.DeepEqual(reasons, want) {
		t.Fatalf("failed %v, want %v", reasons, want)
	}
	if len(f.srv.Messages(old))+len(f.srv.Messages(oldOut))+len(f.srv.Messages(secret)) != 0 || len(f.srv.Messages(f.analytics)) != 1 {
		t.Fatal("wrong posts")
	}
	if !strings.Contains(res.Summary, "#old-finance (is_archived)") {
		t.Errorf("summary %q", res.Summary)
	}
}

func TestNotifyConsumersErrors(t *testing.T) {
	var nilC *slackact.Consumers
	_, err := nilC.NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("finance"))
	actiontest.NonRetryable(t, err, slackact.NotConfiguredType)
	_, err = slackact.NewConsumers(nil, consumerMap, nil).NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("finance"))
	actiontest.NonRetryable(t, err, slackact.NotConfiguredType)
	if !strings.Contains(err.Error(), "Slack not configured") {
		t.Errorf("err = %v", err)
	}

	f := newConsumerFixture(t)
	bad := slackact.NewConsumers(slack.New("xoxb-wrong", slack.OptionAPIURL(f.srv.APIURL())), consumerMap, nil)
	_, err = bad.NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("finance"))
	actiontest.NonRetryable(t, err, slackact.AuthType)

	f.srv.Fail(slacktest.Fault{Method: "conversations.history", Error: "missing_scope", Needed: "channels:history"})
	_, err = f.consumers(consumerMap).NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("finance"))
	actiontest.NonRetryable(t, err, slackact.AuthType)
	if !strings.Contains(err.Error(), "channels:history") {
		t.Errorf("err = %v, want the scope named", err)
	}

	f.srv.RateLimit("chat.postMessage", 9*time.Second, 1)
	_, err = f.consumers(consumerMap).NotifyConsumers(t.Context(), consumerReq("tell"), consumerIn("finance"))
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.NonRetryable() || appErr.Type() != slackact.RateLimitedType || appErr.NextRetryDelay() != 9*time.Second {
		t.Fatalf("rate limited: %v", err)
	}
	if len(f.srv.Messages(f.finance)) != 0 {
		t.Fatal("posted despite the rate limit")
	}
}

// TestNotifyConsumersThroughTyped runs the action as the registry does:
// inputs as rendered from a runbook (a list of any), decoded strictly.
func TestNotifyConsumersThroughTyped(t *testing.T) {
	f := newConsumerFixture(t)
	a := actions.Typed(slackact.NotifyConsumersSpec(), f.consumers(consumerMap).NotifyConsumers)
	if a.Spec.Name != "slack.notify_consumers" || !a.Spec.DryRun || a.Spec.Changes {
		t.Fatalf("spec %+v", a.Spec)
	}
	if in, ok := a.Spec.Input("owners"); !ok || in.Type != runbooks.TypeList || !in.Required {
		t.Fatalf("owners input %+v", in)
	}
	req := consumerReq("tell")
	req.With = map[string]any{"owners": []any{"finance", "sales"}, "dataset": "orders_daily", "message": "hold reports", "impact": "2 models"}
	res, err := a.Fn(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["count"] != 2 {
		t.Fatalf("output %v", res.Output)
	}
	for _, k := range slackact.NotifyConsumersSpec().Outputs {
		if _, ok := res.Output[k]; !ok {
			t.Errorf("output %q missing", k)
		}
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatal(err)
	}
	req.With = map[string]any{"owners": "finance"}
	_, err = a.Fn(t.Context(), req)
	actiontest.NonRetryable(t, err, actions.InvalidInputType)
}

func TestRenderConsumerNotice(t *testing.T) {
	got, err := slackact.RenderConsumerNotice(slackact.ConsumerNotice{
		Incident: "incident-x", Severity: "SEV1", Dataset: "orders_daily", Message: "Use **yesterday's** numbers.",
		Impact: "3 exposures", Owners: []string{"finance", "growth", "ops"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*[SEV1] Data incident affecting `orders_daily`*", "Use *yesterday's* numbers.", "*Impact:* 3 exposures",
		"finance, growth and ops own models or exposures downstream of `orders_daily`", "`incident-x`"} {
		if !strings.Contains(got, want) {
			t.Errorf("notice lacks %q:\n%s", want, got)
		}
	}
	got, err = slackact.RenderConsumerNotice(slackact.ConsumerNotice{Incident: "incident-y"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "Impact") || strings.Contains(got, "affecting") || !strings.HasPrefix(got, "*Data incident*") {
		t.Errorf("minimal notice:\n%s", got)
	}
}

func BenchmarkNotifyConsumers(b *testing.B) {
	srv := slacktest.New()
	defer srv.Close()
	for i := range 200 {
		srv.AddChannel(slacktest.Channel{Name: "team-" + itoa(i), Members: []string{slacktest.BotUserID}})
	}
	m := map[string]string{"a": "#team-10", "b": "#team-150", "c": "#team-199"}
	c := slackact.NewConsumers(slack.New(slacktest.Token, slack.OptionAPIURL(srv.APIURL())), m, nil)
	in := consumerIn("a", "b", "c")
	b.ResetTimer()
	for i := range b.N {
		req := runbooks.ActionRequest{Incident: "incident-bench-" + itoa(i), Step: "tell"}
		if _, err := c.NotifyConsumers(b.Context(), req, in); err != nil {
			b.Fatal(err)
		}
	}
}

// consumersRunbook is the runbook step the action is made for, after
// lineage.downstream.
const consumersRunbook = `
name: consumers-e2e
description: tell the consumers
owner: data-platform
match:
  labels:
    alertname: X
steps:
  - id: impact
    check:
      action: lineage.downstream
      with:
        manifest: "${ alert.labels.manifest }"
        node: "${ alert.labels.model }"
    on_failure: continue
  - id: tell_consumers
    when: steps.?impact.status.orValue('') == 'ok' && size(steps.impact.output.owners) > 0
    check:
      action: slack.notify_consumers
      with:
        owners: "${ steps.impact.output.owners }"
        dataset: "${ alert.labels.model }"
        severity: "${ incident.severity }"
        message: "Numbers from ${ alert.labels.model } may be wrong until further notice."
        impact: "${ steps.impact.summary }"
`

// TestNotifyConsumersFromARunbook validates the runbook step against the
// action's spec and renders its inputs as the workflow does, with
// lineage.downstream's owners as a list, then runs the action on them.
func TestNotifyConsumersFromARunbook(t *testing.T) {
	reg := actions.NewRegistry()
	f := newConsumerFixture(t)
	reg.Add(actions.Typed(slackact.NotifyConsumersSpec(), f.consumers(consumerMap).NotifyConsumers))
	reg.Register(runbooks.ActionSpec{Name: "lineage.downstream", Description: "stand-in spec", Outputs: []string{"owners"},
		Inputs: []runbooks.InputSpec{{Name: "manifest", Type: runbooks.TypeString}, {Name: "node", Type: runbooks.TypeString}}},
		func(context.Context, runbooks.ActionRequest) (runbooks.ActionResult, error) {
			return runbooks.ActionResult{}, nil
		})
	rb, err := runbooks.Parse("consumers-e2e.yaml", []byte(consumersRunbook))
	if err != nil {
		t.Fatal(err)
	}
	if err := runbooks.ValidateRunbook(rb, reg); err != nil {
		t.Fatal(err)
	}
	var step runbooks.Step
	for _, s := range rb.Steps {
		if s.ID == "tell_consumers" {
			step = s
		}
	}
	vars := runbooks.Vars{
		Alert:    map[string]any{"labels": map[string]any{"model": "orders_daily", "manifest": "s3://m/manifest.json"}},
		Incident: map[string]any{"id": "incident-e2e", "severity": "SEV2"},
		Steps: map[string]any{"impact": map[string]any{"status": "ok", "summary": "2 models, 1 exposure downstream",
			"output": map[string]any{"owners": []any{"finance", "growth"}}}},
	}
	with, err := runbooks.Render(step.Check.With, vars)
	if err != nil {
		t.Fatal(err)
	}
	fn, _ := reg.Func("slack.notify_consumers")
	res, err := fn(t.Context(), runbooks.ActionRequest{Incident: "incident-e2e", Runbook: rb.Name, Step: step.ID, With: with})
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(t, res.Output["posted"]); !reflect.DeepEqual(got, []string{"#finance-data", "#growth"}) {
		t.Fatalf("posted %v", got)
	}
	body := strings.Join(sectionTexts(f.srv.Messages(f.finance)[0]), "\n")
	if !strings.Contains(body, "[SEV2]") || !strings.Contains(body, "2 models, 1 exposure downstream") {
		t.Errorf("body %q", body)
	}
}
