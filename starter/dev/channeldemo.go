package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// runChannelDemo plays Slack's Events API for the incident's channel in the
// stand-in: the SME says what they found there, and the Commander marks it
// with :pushpin:. Both reach the incident's timeline through the Slack app
// (POST /slack/events, signed as Slack signs it), the pin as a finding.
func runChannelDemo(ctx context.Context, out io.Writer, c client.Client, f *devFront, r oncall.Roster, incident string) error {
	cast, err := pickCast(r, time.Now())
	if err != nil {
		return err
	}
	sme, _ := r.Person(cast.sme)
	cmd, _ := r.Person(cast.commander)
	if sme.Slack == "" || cmd.Slack == "" {
		fmt.Fprintf(out, "slack: %s or %s has no Slack ID in the roster; skipping the channel example\n", cast.sme, cast.commander)
		return nil
	}
	channel, name := "", ""
	for _, ch := range f.api.Channels() {
		if id, ok := slackact.IncidentFromPurpose(ch.Purpose); ok && id == incident {
			channel, name = ch.ID, ch.Name
		}
	}
	if channel == "" {
		return fmt.Errorf("slack: no channel in the stand-in names incident %s in its purpose", incident)
	}
	ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), time.Now().Nanosecond()/1000)
	text := "the bad join came with the deploy at 14:02; orders before it are fine"
	steps := []struct {
		say   string
		event map[string]any
	}{
		{fmt.Sprintf("%s (%s) in #%s: %s", cast.sme, sme.Slack, name, text),
			map[string]any{"type": "message", "channel": channel, "user": sme.Slack, "text": text, "ts": ts, "event_ts": ts, "channel_type": "channel"}},
		{fmt.Sprintf("%s (%s) adds :pushpin: to it", cast.commander, cmd.Slack),
			map[string]any{"type": "reaction_added", "user": cmd.Slack, "reaction": "pushpin", "item_user": sme.Slack,
				"item": map[string]any{"type": "message", "channel": channel, "ts": ts}, "event_ts": ts}},
	}
	fmt.Fprintln(out)
	for i, s := range steps {
		if err := f.slackEvent(ctx, fmt.Sprintf("Ev%s%d", randomHex(4), i), s.event); err != nil {
			return err
		}
		fmt.Fprintf(out, "slack: %s\n", s.say)
		marks := []string{"said: " + text, "finding: " + text}
		var found *workflows.TimelineEntry
		for deadline := time.Now().Add(15 * time.Second); found == nil && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			found = channelEntry(ctx, c, incident, marks[i])
		}
		if found == nil {
			return fmt.Errorf("slack: %q did not reach the timeline of %s", marks[i], incident)
		}
		fmt.Fprintf(out, "      → timeline: %s: %s", found.Who, clip(found.What, 90))
		if how := strings.TrimSpace(found.Verified + " " + found.Why); how != "" {
			fmt.Fprintf(out, " (%s)", clip(how, 70))
		}
		fmt.Fprintln(out)
	}
	return nil
}

// channelEntry is the timeline entry of incident whose What is what.
func channelEntry(ctx context.Context, c client.Client, incident, what string) *workflows.TimelineEntry {
	tl, err := incidents.Timeline(ctx, c, incident)
	if err != nil {
		return nil
	}
	for i := range tl {
		if tl[i].What == what {
			return &tl[i]
		}
	}
	return nil
}

// slackEvent posts an Events API event_callback to the Slack app, signed as
// Slack signs it.
func (f *devFront) slackEvent(ctx context.Context, eventID string, event map[string]any) error {
	body, err := json.Marshal(map[string]any{"token": "deprecated", "team_id": "TDEMO", "api_app_id": "ADEMO", "type": "event_callback",
		"event_id": eventID, "event_time": time.Now().Unix(), "event": event})
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(f.signing))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url+"/slack/events", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("slack app: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return errors.New("slack app answered " + resp.Status + " to an event: " + strings.TrimSpace(string(b)))
	}
	return nil
}
