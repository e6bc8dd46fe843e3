package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/datasev/datasev/activities/lifecycle/postmortem"
)

// Formats the report prints in.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// Formats lists the formats, the default first.
var Formats = []string{FormatTable, FormatCSV, FormatJSON}

// Write prints the summary in format (table, csv or json) to w.
func Write(w io.Writer, s Summary, format string) error {
	switch format {
	case FormatTable, "":
		return WriteTable(w, s)
	case FormatCSV:
		return WriteCSV(w, s)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return fmt.Errorf("report: write json: %w", err)
		}
		return nil
	}
	return fmt.Errorf("report: format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// WriteTable prints the summary as aligned plain-text tables, one per
// section.
func WriteTable(w io.Writer, s Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	period := fmt.Sprintf("%s to %s", s.Since.UTC().Format(time.DateTime), s.Until.UTC().Format(time.DateTime))
	if s.Team != "" {
		period += ", team " + s.Team
	}
	p("Incidents closed %s (UTC): %d", period, s.Incidents)
	if s.Merged > 0 {
		p(" (%d merged into another)", s.Merged)
	}
	p("\n")
	if s.Excluded > 0 {
		p("Not counted: %d closed without a final snapshot (terminated, failed or timed out)\n", s.Excluded)
	}
	p("\nSEVERITY\tINCIDENTS\n")
	for _, c := range s.BySeverity {
		p("%s\t%d\n", c.Key, c.Incidents)
	}
	p("\nSERVICE\tINCIDENTS\n")
	for _, c := range s.ByService {
		p("%s\t%d\n", c.Key, c.Incidents)
	}
	p("\nRUNBOOK\tINCIDENTS\n")
	for _, c := range s.ByRunbook {
		p("%s\t%d\n", c.Key, c.Incidents)
	}
	p("\nSEVERITY\tACK MEDIAN\tACK P90\tMITIGATE MEDIAN\tMITIGATE P90\tRESOLVE MEDIAN\tRESOLVE P90\n")
	for _, t := range s.Times {
		p("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Severity,
			dur(t.Acknowledge, true), dur(t.Acknowledge, false),
			dur(t.Mitigate, true), dur(t.Mitigate, false),
			dur(t.Resolve, true), dur(t.Resolve, false))
	}
	if len(s.Times) == 0 {
		p("(no incidents)\n")
	}
	a := s.Approvals
	p("\nAPPROVALS\tGRANTED\tDENIED\tTIMED OUT\tAUTO\tPENDING\tESCALATED\n")
	p("\t%d\t%d\t%d\t%d\t%d\t%d\n", a.Granted, a.Denied, a.TimedOut, a.Auto, a.Pending, a.Escalated)
	p("\nMISSED\tSTATUS UPDATES\tINCIDENTS\tHANDOFFS STARTED\tACCEPTED\tMISSED (ESCALATED)\n")
	p("\t%d\t%d\t%d\t%d\t%d\n", s.StatusUpdates.Missed, s.StatusUpdates.Incidents, s.Handoffs.Started, s.Handoffs.Accepted, s.Handoffs.Missed)
	ai := s.ActionItems
	p("\nACTION ITEMS\tTOTAL\tFILED\tNOT FILED\tDONE\tOPEN\tUNKNOWN\tNOT FOLLOWED UP\n")
	p("\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", ai.Total, ai.Filed, ai.Unfiled, ai.Done, ai.Open, ai.Unknown, ai.NotFollowedUp)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: write table: %w", err)
	}
	if len(s.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range s.Notes {
			fmt.Fprintf(w, "Note: %s.\n", n)
		}
	}
	return nil
}

// dur prints a stat's median (with the number of incidents it is of) or
// its p90, or "-" without incidents.
func dur(st Stat, median bool) string {
	if st.N == 0 {
		return "-"
	}
	if median {
		return postmortem.FormatDuration(st.Median) + " (n=" + strconv.Itoa(st.N) + ")"
	}
	return postmortem.FormatDuration(st.P90)
}

// WriteCSV prints the summary as one CSV table of section, key, metric,
// value rows (durations in seconds; -1 for unknown), easy to load into a
// spreadsheet or pivot.
func WriteCSV(w io.Writer, s Summary) error {
	cw := csv.NewWriter(w)
	row := func(section, key, metric string, v any) {
		_ = cw.Write([]string{section, key, metric, fmt.Sprint(v)})
	}
	_ = cw.Write([]string{"section", "key", "metric", "value"})
	row("period", "", "since", s.Since.UTC().Format(time.RFC3339))
	row("period", "", "until", s.Until.UTC().Format(time.RFC3339))
	if s.Team != "" {
		row("period", "", "team", s.Team)
	}
	row("incidents", "", "closed", s.Incidents)
	row("incidents", "", "merged", s.Merged)
	row("incidents", "", "excluded", s.Excluded)
	for _, c := range s.BySeverity {
		row("severity", c.Key, "incidents", c.Incidents)
	}
	for _, c := range s.ByService {
		row("service", c.Key, "incidents", c.Incidents)
	}
	for _, c := range s.ByRunbook {
		row("runbook", c.Key, "incidents", c.Incidents)
	}
	for _, t := range s.Times {
		for _, m := range []struct {
			name string
			st   Stat
		}{{"time_to_acknowledge", t.Acknowledge}, {"time_to_mitigate", t.Mitigate}, {"time_to_resolve", t.Resolve}} {
			row(m.name, string(t.Severity), "n", m.st.N)
			row(m.name, string(t.Severity), "median_seconds", seconds(m.st.Median))
			row(m.name, string(t.Severity), "p90_seconds", seconds(m.st.P90))
		}
	}
	a := s.Approvals
	row("approvals", "", OutcomeGranted, a.Granted)
	row("approvals", "", OutcomeDenied, a.Denied)
	row("approvals", "", OutcomeTimedOut, a.TimedOut)
	row("approvals", "", OutcomeAuto, a.Auto)
	row("approvals", "", OutcomePending, a.Pending)
	row("approvals", "", "escalated", a.Escalated)
	row("status_updates", "", "missed", s.StatusUpdates.Missed)
	row("status_updates", "", "incidents", s.StatusUpdates.Incidents)
	row("handoffs", "", "started", s.Handoffs.Started)
	row("handoffs", "", "accepted", s.Handoffs.Accepted)
	row("handoffs", "", "missed", s.Handoffs.Missed)
	row("action_items", "", "total", s.ActionItems.Total)
	row("action_items", "", "filed", s.ActionItems.Filed)
	row("action_items", "", "unfiled", s.ActionItems.Unfiled)
	row("action_items", "", "open", s.ActionItems.Open)
	row("action_items", "", "done", s.ActionItems.Done)
	row("action_items", "", "unknown", s.ActionItems.Unknown)
	row("action_items", "", "not_followed_up", s.ActionItems.NotFollowedUp)
	row("action_items", "", "incidents_not_followed_up", s.ActionItems.IncidentsNotFollowedUp)
	for _, n := range s.Notes {
		row("note", "", "", n)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

// seconds prints a duration in seconds without a trailing ".0".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
