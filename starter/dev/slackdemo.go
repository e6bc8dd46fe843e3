package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/workflows/oncall"
)

// runSlackDemo shows the Slack side: a note added with /incident by the
// SME and a status update posted by the Commander (a deciding act, signed
// by the Slack app vouching for the Slack user it verified), with how the
// incident verified each, and the channels the worker's Slack backend
// created with their message counts.
func runSlackDemo(ctx context.Context, out io.Writer, c client.Client, f *devFront, r oncall.Roster, incident string) error {
	cast, err := pickCast(r, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, s := range []struct{ who, text, mark string }{
		{cast.sme, "note @" + incident + " revert merged; the finance dashboard shows dollars again", "revert merged"},
		{cast.commander, "update @" + incident + " the revert is merged and orders re-ran; watching the dashboards", "the revert is merged"},
	} {
		p, _ := r.Person(s.who)
		if p.Slack == "" {
			fmt.Fprintf(out, "slack: %s has no Slack ID in the roster; skipping the /incident example\n", s.who)
			continue
		}
		reply, err := f.slashCommand(ctx, p.Slack, s.text)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "slack: %s (%s) runs /incident %s\n", s.who, p.Slack, s.text)
		fmt.Fprintf(out, "      → %s\n", clip(oneLine(reply), 110))
		// The reply may have come before the act did ("working on it…").
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if how := slackVerified(ctx, c, incident, s.who, s.mark); how != "" {
				fmt.Fprintf(out, "      verified: %s\n", how)
				break
			}
		}
	}
	if err := runChannelDemo(ctx, out, c, f, r, incident); err != nil {
		return err
	}
	type count struct {
		name string
		n    int
	}
	var counts []count
	for _, ch := range f.api.Channels() {
		if ch.IsIM || !strings.HasPrefix(ch.Name, "inc-") {
			continue
		}
		counts = append(counts, count{ch.Name, len(f.api.Messages(ch.ID))})
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i].name < counts[j].name })
	for _, c := range counts {
		fmt.Fprintf(out, "slack stand-in: #%s has %d messages from the worker\n", c.name, c.n)
	}
	if len(counts) == 0 {
		return errors.New("slack: the worker created no incident channel in the stand-in")
	}
	return nil
}

// slackVerified is how the incident verified who's act from Slack whose
// text has mark, once it is in the timeline.
func slackVerified(ctx context.Context, c client.Client, incident, who, mark string) string {
	tl, err := incidents.Timeline(ctx, c, incident)
	if err != nil {
		return ""
	}
	for _, e := range tl {
		if e.Who == who && e.Via == slackapp.Via && strings.Contains(e.What, mark) {
			return e.Verified
		}
	}
	return ""
}
