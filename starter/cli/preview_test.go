package cli

import (
	"strings"
	"testing"

	"github.com/datasev/datasev/workflows"
)

func TestPreviewListsEveryTemplate(t *testing.T) {
	code, out, errs := runCheck(t, map[string]string{}, "preview")
	if code != exitOK {
		t.Fatalf("preview: exit %d %s", code, errs)
	}
	for _, tmpl := range previewTemplates {
		if !strings.Contains(out, tmpl.name) || !strings.Contains(out, tmpl.file) {
			t.Errorf("the list lacks %s (%s):\n%s", tmpl.name, tmpl.file, out)
		}
	}
}

// Each template renders the sample incident: the parts a reader checks
// before trusting a template are there.
func TestPreviewRendersTheSample(t *testing.T) {
	for name, want := range map[string][]string{
		"email-leadership":    {"Subject: ", "SEV2", "orders revenue 100x the forecast", "Incident document: file:///srv/datasev/incidents/"},
		"email-status-update": {"Subject: ", "status update: SEV2 mitigating", "The revert of orders.sql is merged"},
		"email-page":          {"Subject: ", "acknowledge: orders revenue 100x the forecast", "Acknowledge within 15m"},
		"slack-consumers":     {"incident-orders-revenue", "SEV2", "ANALYTICS.MARTS.ORDERS", "2 exposures"},
		"document":            {"Title: [SEV2] orders revenue 100x the forecast (closed)", "revert-2", "accepted the handoff from alice", "Postmortem"},
		"postmortem":          {"# Postmortem: orders revenue 100x the forecast", "revert-1", "denied", "a change to orders.sql reported amounts in cents"},
	} {
		code, out, errs := runCheck(t, map[string]string{}, "preview", name)
		if code != exitOK {
			t.Errorf("preview %s: exit %d %s", name, code, errs)
			continue
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("preview %s lacks %q:\n%s", name, w, out)
			}
		}
	}
	_, text, _ := runCheck(t, map[string]string{}, "preview", "email-leadership")
	_, html, _ := runCheck(t, map[string]string{}, "preview", "email-leadership", "--html")
	if !strings.Contains(html, "<html") && !strings.Contains(html, "<p") || strings.Contains(text, "<p") {
		t.Errorf("--html should switch to the HTML part:\ntext:\n%s\nhtml:\n%s", text, html)
	}
}

func TestPreviewRejectsUnknownTemplate(t *testing.T) {
	code, _, errs := runCheck(t, map[string]string{}, "preview", "email-nope")
	if code != exitUsage || !strings.Contains(errs, `no template "email-nope"`) || !strings.Contains(errs, "email-leadership") {
		t.Errorf("unknown template: exit %d %q, want a usage error listing the templates", code, errs)
	}
	if code, _, _ := runCheck(t, map[string]string{}, "preview", "a", "b"); code != exitUsage {
		t.Errorf("two templates: exit %d, want usage", code)
	}
}

// show prints where the incident document and the postmortem are.
func TestPrintStatusShowsDocumentAndPostmortem(t *testing.T) {
	var b strings.Builder
	st := workflows.Status{ID: "incident-x", Title: "orders late", State: workflows.Closed, Severity: workflows.SEV3,
		Document: "file:///srv/incidents/incident-x.md", Closure: workflows.Closure{Postmortem: "/srv/postmortems/incident-x.md"}}
	printStatus(&b, st)
	for _, want := range []string{"  document   file:///srv/incidents/incident-x.md\n", "  postmortem /srv/postmortems/incident-x.md\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, b.String())
		}
	}
}

func TestShowListsMembersAndLinks(t *testing.T) {
	var b strings.Builder
	st := workflows.Status{ID: "incident-storm:alertmanager", Title: "alert storm: alertmanager", State: workflows.Diagnosing, Severity: workflows.SEV3,
		AlertCount: 9, AlertStatus: workflows.Firing, Group: workflows.GroupStorm, MembersMore: 3,
		Members: []workflows.AlertMember{
			{Key: "alertmanager:LoadFailed:ab12", Title: "orders load failed", Status: workflows.Firing, Count: 4},
			{Key: "alertmanager:LoadFailed:cd34", Title: "users load failed", Status: workflows.Firing, Count: 2, SplitTo: "incident-alertmanager:LoadFailed:cd34"},
		},
		Related:    []workflows.IncidentLink{{Kind: workflows.LinkMerged, ID: "incident-dbt", Title: "dbt orders failing", Alerts: 5}},
		MergedInto: "",
	}
	printStatus(&b, st)
	for _, want := range []string{
		"  grouped    alert storm: 5 alerts (2 listed)\n",
		"alertmanager:LoadFailed:ab12             firing ×4 — orders load failed\n",
		"split out to incident-alertmanager:LoadFailed:cd34 ×2 — users load failed\n",
		"  linked     merged incident-dbt (dbt orders failing), 5 alerts\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, b.String())
		}
	}
}
