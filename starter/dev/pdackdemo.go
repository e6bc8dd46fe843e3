package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdkey"
	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdtest"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows"
)

// demoPageWait bounds the wait for the worker's page of the incident to
// reach the PagerDuty stand-in.
const demoPageWait = 30 * time.Second

// acknowledge acknowledges the incident as its Commander: in PagerDuty
// when the stand-in plays it (the page the worker raised there is
// acknowledged by the Commander's PagerDuty user, and the stand-in's
// webhook brings it back through the intake), else with the CLI's signed
// act as before.
func (r *demoRun) acknowledge(ctx context.Context) error {
	if r.d.pagerduty == nil {
		return r.act(ctx, demoAct{r.cast.commander, workflows.ActAcknowledge, r.cast.commander + ": acknowledge", workflows.Act{}})
	}
	return r.acknowledgeInPagerDuty(ctx, r.d.pagerduty)
}

// acknowledgeInPagerDuty acknowledges the incident's page in the
// PagerDuty stand-in as the Commander's PagerDuty user, then checks that
// the incident's timeline shows the acknowledgement by the Commander, via
// pagerduty, verified as the intake vouching for that PagerDuty user.
func (r *demoRun) acknowledgeInPagerDuty(ctx context.Context, pd *pdtest.Server) error {
	commander := r.cast.commander
	p, ok := r.d.roster.Person(commander)
	if !ok || p.PagerDuty == "" {
		return fmt.Errorf("acknowledge in PagerDuty: the Commander %s has no PagerDuty user ID in the roster (people[].pagerduty)", commander)
	}
	alert, err := r.waitPage(ctx, pd, commander)
	if err != nil {
		return err
	}
	d, err := pd.Acknowledge(ctx, alert.DedupKey, p.PagerDuty)
	if err != nil {
		return fmt.Errorf("acknowledge in PagerDuty as %s: %w", p.PagerDuty, err)
	}
	var out intake.PagerDutyOutcome
	if d.Status != http.StatusAccepted || json.Unmarshal([]byte(d.Body), &out) != nil || out.Outcome != "acknowledged" {
		return fmt.Errorf("acknowledge in PagerDuty: the intake answered the stand-in's webhook %d: %s", d.Status, clip(oneLine(d.Body), 200))
	}
	r.line(fmt.Sprintf("%s: acknowledge in PagerDuty (user %s)", commander, p.PagerDuty),
		fmt.Sprintf("stand-in incident #%d acknowledged; its webhook → intake: %s", alert.Number, clip(out.Message, 60)))
	claim := intake.PagerDutyClaimPrefix + p.PagerDuty
	var found workflows.TimelineEntry
	_, ok, err = r.feed.until(ctx, 10*time.Second, func(_ workflows.Status, tl []workflows.TimelineEntry) bool {
		for _, e := range tl {
			if e.What == "acknowledged" && e.Who == commander && e.Via == intake.ViaPagerDuty && strings.Contains(e.Verified, claim) {
				found = e
				return true
			}
		}
		return false
	})
	switch {
	case err != nil:
		return fmt.Errorf("acknowledge in PagerDuty: reading the timeline: %w", err)
	case !ok:
		return fmt.Errorf("acknowledge in PagerDuty: the timeline of %s shows no acknowledgement by %s via %s verified as %s", r.id, commander, intake.ViaPagerDuty, claim)
	}
	r.note("timeline: %s %s via %s, verified: %s", found.Who, found.What, found.Via, found.Verified)
	return nil
}

// waitPage waits for the worker's page of the incident in the stand-in:
// the alert whose dedup key names the incident, the one paging the
// Commander when there are several.
func (r *demoRun) waitPage(ctx context.Context, pd *pdtest.Server, commander string) (pdtest.Alert, error) {
	deadline := time.Now().Add(demoPageWait)
	for {
		if a, ok := incidentPage(pd, r.id, commander); ok {
			return a, nil
		}
		if time.Now().After(deadline) {
			return pdtest.Alert{}, fmt.Errorf("acknowledge in PagerDuty: no page of %s reached the PagerDuty stand-in within %s (see the worker's log)", r.id, demoPageWait)
		}
		select {
		case <-ctx.Done():
			return pdtest.Alert{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// incidentPage is the stand-in's open alert of the incident's page: the
// first paging person (custom_details.to), else the first one.
func incidentPage(pd *pdtest.Server, incident, person string) (pdtest.Alert, bool) {
	to := map[string]string{} // dedup key → who its first trigger paged
	for _, e := range pd.Events() {
		if _, seen := to[e.DedupKey]; !seen && e.Payload != nil {
			s, _ := e.Payload.Details["to"].(string)
			to[e.DedupKey] = s
		}
	}
	var first pdtest.Alert
	ok := false
	for _, a := range pd.Alerts() {
		if id, _, parsed := pdkey.Parse(a.DedupKey); !parsed || id != incident || a.Status != "triggered" {
			continue
		}
		if to[a.DedupKey] == person {
			return a, true
		}
		if !ok {
			first, ok = a, true
		}
	}
	return first, ok
}

// pagerDutyIfPlaying is the PagerDuty stand-in when the worker pages
// through it (standIn names the integrations the stand-ins play), else
// nil: with the user's own PagerDuty, the demo acknowledges with the CLI.
func (s *standIns) pagerDutyIfPlaying(standIn map[string]bool) *pdtest.Server {
	if s == nil || !standIn["pagerduty"] {
		return nil
	}
	return s.pagerduty
}
