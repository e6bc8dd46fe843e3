package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// decode decodes one JSON value. strict rejects unknown fields. Errors name
// the field or the byte offset.
func decode(body []byte, v any, strict bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("empty body: want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err, body)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("malformed JSON: data after the object at byte %d", dec.InputOffset())
	}
	return nil
}

func describeJSONError(err error, body []byte) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(body, se.Offset)
		return fmt.Errorf("malformed JSON at byte %d (line %d, column %d): %s", se.Offset, line, col, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("malformed JSON: unexpected end at byte %d", len(body))
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Errorf("malformed JSON: want an object, got %s", te.Value)
		}
		return fmt.Errorf("field %q: want %s, got %s", te.Field, jsonKind(te.Type.String()), te.Value)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s", f)
	}
	return fmt.Errorf("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goType string) string {
	switch {
	case goType == "string" || strings.HasSuffix(goType, "Severity") || strings.HasSuffix(goType, "AlertStatus"):
		return "a string"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	}
	return goType
}

func position(body []byte, off int64) (line, col int) {
	if off > int64(len(body)) {
		off = int64(len(body))
	}
	line, col = 1, 1
	for _, c := range body[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// severityWord maps a monitor's severity word to a datasev severity; ""
// leaves it to the runbook (else SEV3). See the package doc.
func severityWord(v string) workflows.Severity {
	w := strings.ToLower(strings.TrimSpace(v))
	if w == "" {
		return ""
	}
	if s, err := workflows.ParseSeverity(w); err == nil {
		return s
	}
	switch w {
	case "critical", "crit", "page", "fatal":
		return workflows.SEV2
	case "high", "error", "err", "major":
		return workflows.SEV3
	case "warning", "warn", "medium", "minor":
		return workflows.SEV4
	case "info", "informational", "low", "none":
		return workflows.SEV5
	}
	return ""
}

// keyPart keeps a dedupe key's part to the key alphabet (letters, digits
// and -_.:), so the key passes validation whatever the monitor's names hold.
func keyPart(s string) string { return incidents.KeyPart(s) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// --- Generic ---

// GenericAlert is the generic endpoint's body.
type GenericAlert struct {
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Severity    string            `json:"severity"`
	DedupeKey   string            `json:"dedupe_key"`
	Labels      map[string]string `json:"labels"`
	Source      string            `json:"source"`
	Description string            `json:"description"`
	Status      string            `json:"status"`
	Service     string            `json:"service"`
	Dataset     string            `json:"dataset"`
}

// genericPrefix starts every dedupe key the generic endpoint addresses:
// each intake source owns the keys that start with its name and a colon
// (alertmanager:, dbt_cloud:, pagerduty:, generic:), so a generic-token
// holder cannot reach (resolve, reopen, flood) another source's incidents,
// nor those declared in Slack or with the CLI.
const genericPrefix = SourceGeneric + ":"

// reservedSources are names a generic alert's source field cannot claim:
// the other front doors, which authenticate their own senders.
var reservedSources = []string{SourceAlertmanager, SourceDBTCloud, SourcePagerDuty, "slack", "cli"}

func parseGeneric(body []byte) (parsed, error) {
	var g GenericAlert
	if err := decode(body, &g, true); err != nil {
		return parsed{}, err
	}
	sev := severityWord(g.Severity)
	if sev == "" && strings.TrimSpace(g.Severity) != "" {
		return parsed{}, fmt.Errorf("field \"severity\": %q, want SEV1..SEV5, 1..5, or critical, high, error, warning, info", truncate(g.Severity, 64))
	}
	src := strings.TrimSpace(g.Source)
	if src == "" {
		src = SourceGeneric
	}
	if err := checkGenericSource(src); err != nil {
		return parsed{}, err
	}
	key, err := scopeGenericKey(g.DedupeKey)
	if err != nil {
		return parsed{}, err
	}
	return parsed{alerts: []workflows.Alert{{
		ID: g.ID, Source: src, Title: g.Title, Description: g.Description, DedupeKey: key,
		Severity: sev, Status: workflows.AlertStatus(strings.ToLower(strings.TrimSpace(g.Status))),
		Service: g.Service, Dataset: g.Dataset, Labels: g.Labels,
	}}}, nil
}

// scopeGenericKey puts a generic alert's dedupe key under "generic:" (kept
// once when the sender already wrote it) after checking its shape with
// incidents.CheckDedupeKey, the check every front door shares.
func scopeGenericKey(k string) (string, error) {
	k = strings.TrimSpace(k)
	k = strings.TrimPrefix(k, genericPrefix)
	if limit := workflows.MaxDedupeKeyLen - len(genericPrefix); len(k) > limit {
		return "", fmt.Errorf("field \"dedupe_key\": %d bytes, at most %d (the intake puts it under %q)", len(k), limit, genericPrefix)
	}
	if err := incidents.CheckDedupeKey(k); err != nil {
		return "", err
	}
	return genericPrefix + k, nil
}

func checkGenericSource(src string) error {
	if len(src) > incidents.MaxSourceLen {
		return fmt.Errorf("field \"source\": %d bytes, at most %d", len(src), incidents.MaxSourceLen)
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("field \"source\": %q at byte %d is not allowed; use ASCII letters, digits and - _ .", string(rune(c)), i)
		}
	}
	for _, r := range reservedSources {
		if strings.EqualFold(src, r) {
			return fmt.Errorf("field \"source\": %q is another front door's name; the generic endpoint cannot send as it (use a name such as airflow or snowflake)", src)
		}
	}
	return nil
}

// --- Alertmanager ---

// AlertmanagerPayload is Alertmanager's webhook body (version 4).
type AlertmanagerPayload struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   int                 `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []AlertmanagerAlert `json:"alerts"`
}

// AlertmanagerAlert is one alert of the group.
type AlertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Bounds on an Alertmanager alert's parts that datasev builds keys and IDs
// from. Alertmanager's own fingerprints are 16 hex digits.
const (
	maxFingerprintLen = 64
	maxAnnotations    = workflows.MaxLabels
)

func parseAlertmanager(body []byte) (parsed, error) {
	var p AlertmanagerPayload
	if err := decode(body, &p, false); err != nil {
		return parsed{}, err
	}
	if p.Version != "" && p.Version != "4" {
		return parsed{}, fmt.Errorf("field \"version\": %q, want \"4\"", truncate(p.Version, 16))
	}
	if len(p.Alerts) == 0 {
		return parsed{}, errors.New("field \"alerts\": empty")
	}
	out := make([]workflows.Alert, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		var status workflows.AlertStatus
		switch a.Status {
		case "firing":
			status = workflows.Firing
		case "resolved":
			status = workflows.Recovered
		default:
			return parsed{}, fmt.Errorf("alerts[%d].status: %q, want firing or resolved", i, truncate(a.Status, 16))
		}
		if len(a.Labels) > workflows.MaxLabels {
			return parsed{}, fmt.Errorf("alerts[%d].labels: %d labels, at most %d", i, len(a.Labels), workflows.MaxLabels)
		}
		if len(a.Annotations) > maxAnnotations {
			return parsed{}, fmt.Errorf("alerts[%d].annotations: %d annotations, at most %d", i, len(a.Annotations), maxAnnotations)
		}
		if len(a.Fingerprint) > maxFingerprintLen {
			return parsed{}, fmt.Errorf("alerts[%d].fingerprint: %d bytes, at most %d", i, len(a.Fingerprint), maxFingerprintLen)
		}
		name := a.Labels["alertname"]
		fp := a.Fingerprint
		if fp == "" {
			fp = labelsHash(a.Labels)
		}
		fp = keyPart(fp)
		title := a.Annotations["summary"]
		if strings.TrimSpace(title) == "" {
			title = name
		}
		service := a.Labels["service"]
		if service == "" {
			service = a.Labels["job"]
		}
		labels := make(map[string]string, len(a.Labels)+1)
		for k, v := range a.Labels {
			labels[k] = v
		}
		// The generator link is datasev's addition: left out rather than
		// refusing the alert when there is no room for it.
		if a.GeneratorURL != "" && len(a.GeneratorURL) <= incidents.MaxLabelValueLen && len(labels) < workflows.MaxLabels {
			labels["generator_url"] = a.GeneratorURL
		}
		desc := a.Annotations["description"]
		if rb := a.Annotations["runbook_url"]; rb != "" {
			desc = strings.TrimSpace(desc + "\nRunbook: " + rb)
		}
		// The alert name is cut to leave room for the fingerprint, which
		// tells series apart (it hashes every label, the name included).
		keyName := truncate(keyPart(name), workflows.MaxDedupeKeyLen-len("alertmanager:")-1-len(fp))
		out = append(out, workflows.Alert{
			ID:          "alertmanager:" + fp + ":" + a.StartsAt.UTC().Format(time.RFC3339Nano) + ":" + a.Status,
			Source:      SourceAlertmanager,
			Title:       truncate(title, workflows.MaxTitleLen),
			Description: truncate(desc, workflows.MaxTextLen),
			DedupeKey:   "alertmanager:" + keyName + ":" + fp,
			Severity:    severityWord(a.Labels["severity"]),
			Status:      status,
			Service:     service,
			Dataset:     a.Labels["dataset"],
			Labels:      labels,
		})
	}
	// The group key travels beside the alerts, never as a label: no other
	// sender can then claim an Alertmanager group. Declare only hashes it
	// (and shows a printable part of it), so its length costs nothing.
	return parsed{alerts: out, amGroupKey: p.GroupKey}, nil
}

// labelsHash stands in for a missing fingerprint: a hash of the sorted
// label pairs.
func labelsHash(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\xff%s\xff", k, l[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// --- dbt Cloud ---

// DBTCloudPayload is a dbt Cloud job webhook body.
type DBTCloudPayload struct {
	AccountID   json.Number  `json:"accountId"`
	WebhooksID  string       `json:"webhooksID"`
	EventID     string       `json:"eventId"`
	Timestamp   string       `json:"timestamp"`
	EventType   string       `json:"eventType"`
	WebhookName string       `json:"webhookName"`
	Data        DBTCloudData `json:"data"`
}

// DBTCloudData is the run the event is about. dbt Cloud sends IDs as
// strings; numbers are accepted too.
type DBTCloudData struct {
	JobID            flexString `json:"jobId"`
	JobName          string     `json:"jobName"`
	RunID            flexString `json:"runId"`
	EnvironmentID    flexString `json:"environmentId"`
	EnvironmentName  string     `json:"environmentName"`
	DBTVersion       string     `json:"dbtVersion"`
	ProjectName      string     `json:"projectName"`
	ProjectID        flexString `json:"projectId"`
	RunStatus        string     `json:"runStatus"`
	RunStatusCode    int        `json:"runStatusCode"`
	RunStatusMessage string     `json:"runStatusMessage"`
	RunReason        string     `json:"runReason"`
	RunStartedAt     string     `json:"runStartedAt"`
	RunErroredAt     string     `json:"runErroredAt"`
	RunFinishedAt    string     `json:"runFinishedAt"`
}

// flexString accepts a JSON string or number.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or number ID")
	}
	*f = flexString(n.String())
	return nil
}

// maxVendorIDLen bounds the vendors' IDs datasev builds keys and alert IDs
// from (dbt Cloud's job and run IDs, PagerDuty's event and incident IDs).
const maxVendorIDLen = 64

func checkVendorID(field, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("field %q: required", field)
	case len(v) > maxVendorIDLen:
		return fmt.Errorf("field %q: %d bytes, at most %d", field, len(v), maxVendorIDLen)
	}
	return nil
}

// parseDBTCloud maps a dbt Cloud job webhook. Its "timestamp" (when dbt
// Cloud sent the event, inside the signed body) is checked against the
// replay window.
func parseDBTCloud(body []byte) (parsed, error) {
	var p DBTCloudPayload
	if err := decode(body, &p, false); err != nil {
		return parsed{}, err
	}
	out := parsed{signedField: "timestamp", signedAt: p.Timestamp}
	if p.EventType == "" {
		return parsed{}, errors.New("field \"eventType\": required")
	}
	d := p.Data
	var status workflows.AlertStatus
	switch {
	case p.EventType == "job.run.errored":
		status = workflows.Firing
	case p.EventType == "job.run.completed" && strings.EqualFold(d.RunStatus, "success"):
		status = workflows.Recovered
	case p.EventType == "job.run.completed" && (strings.EqualFold(d.RunStatus, "error") || strings.EqualFold(d.RunStatus, "errored")):
		status = workflows.Firing
	default:
		return out, nil // started, cancelled, unknown: nothing to raise
	}
	if err := checkVendorID("data.jobId", string(d.JobID)); err != nil {
		return parsed{}, err
	}
	if err := checkVendorID("data.runId", string(d.RunID)); err != nil {
		return parsed{}, err
	}
	name := d.JobName
	if name == "" {
		name = "job " + string(d.JobID)
	}
	title := fmt.Sprintf("dbt Cloud job %q failed", name)
	if status == workflows.Recovered {
		title = fmt.Sprintf("dbt Cloud job %q succeeded", name)
	}
	desc := strings.TrimSpace(fmt.Sprintf("Run %s (%s) in %s, project %s: %s", d.RunID, d.RunStatus, d.EnvironmentName, d.ProjectName, d.RunStatusMessage))
	labels := map[string]string{
		"dbt_job_id": string(d.JobID), "dbt_run_id": string(d.RunID), "dbt_event": p.EventType,
	}
	// The account ID lets a runbook call dbtcloud.retry_run with
	// alert.labels.dbt_account_id; it is bounded like the other IDs.
	if acc := p.AccountID.String(); acc != "" {
		if err := checkVendorID("accountId", acc); err != nil {
			return parsed{}, err
		}
		labels["dbt_account_id"] = acc
	}
	for k, v := range map[string]string{"dbt_job_name": d.JobName, "dbt_environment": d.EnvironmentName, "dbt_project": d.ProjectName, "dbt_run_reason": d.RunReason, "dbt_event_id": p.EventID} {
		if v != "" {
			labels[k] = v
		}
	}
	out.alerts = []workflows.Alert{{
		ID:          "dbt_cloud:run:" + string(d.RunID) + ":" + string(status),
		Source:      SourceDBTCloud,
		Title:       truncate(title, workflows.MaxTitleLen),
		Description: truncate(desc, workflows.MaxTextLen),
		DedupeKey:   "dbt_cloud:job:" + keyPart(string(d.JobID)),
		Status:      status,
		Service:     d.ProjectName,
		Labels:      labels,
	}}
	return out, nil
}

// --- PagerDuty ---

// PagerDutyPayload is a PagerDuty v3 webhook body.
type PagerDutyPayload struct {
	Event PagerDutyEvent `json:"event"`
}

// PagerDutyEvent is the event envelope.
type PagerDutyEvent struct {
	ID           string            `json:"id"`
	EventType    string            `json:"event_type"`
	ResourceType string            `json:"resource_type"`
	OccurredAt   string            `json:"occurred_at"`
	Data         PagerDutyIncident `json:"data"`
}

// PagerDutyIncident is the incident an incident.* event carries.
type PagerDutyIncident struct {
	ID          string       `json:"id"`
	Type        string       `json:"type"`
	HTMLURL     string       `json:"html_url"`
	Number      int          `json:"number"`
	Status      string       `json:"status"`
	IncidentKey string       `json:"incident_key"`
	Title       string       `json:"title"`
	Urgency     string       `json:"urgency"`
	Service     *pdReference `json:"service"`
	Priority    *pdReference `json:"priority"`
}

type pdReference struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url"`
}

// parsePagerDuty maps a PagerDuty v3 webhook. Its event.occurred_at (inside
// the signed body) is checked against the replay window.
func parsePagerDuty(body []byte) (parsed, error) {
	var p PagerDutyPayload
	if err := decode(body, &p, false); err != nil {
		return parsed{}, err
	}
	e := p.Event
	out := parsed{signedField: "event.occurred_at", signedAt: e.OccurredAt}
	if e.EventType == "" {
		return parsed{}, errors.New("field \"event.event_type\": required")
	}
	if err := checkVendorID("event.id", e.ID); err != nil {
		return parsed{}, err
	}
	var status workflows.AlertStatus
	switch e.EventType {
	case "incident.triggered", "incident.reopened", "incident.escalated", "incident.priority_updated":
		status = workflows.Firing
	case "incident.resolved":
		status = workflows.Recovered
	default:
		return out, nil // acknowledged, annotated, pings…: nothing to raise
	}
	inc := e.Data
	if err := checkVendorID("event.data.id", inc.ID); err != nil {
		return parsed{}, err
	}
	var sev workflows.Severity
	if inc.Priority != nil {
		if s, err := workflows.ParseSeverity(strings.TrimPrefix(strings.ToUpper(inc.Priority.Summary), "P")); err == nil {
			sev = s
		}
	}
	if sev == "" {
		switch inc.Urgency {
		case "high":
			sev = workflows.SEV2
		case "low":
			sev = workflows.SEV4
		}
	}
	title := inc.Title
	if strings.TrimSpace(title) == "" {
		title = fmt.Sprintf("PagerDuty incident #%d", inc.Number)
	}
	labels := map[string]string{"pagerduty_incident": inc.ID, "pagerduty_event": e.EventType}
	if inc.HTMLURL != "" {
		labels["pagerduty_url"] = inc.HTMLURL
	}
	if inc.IncidentKey != "" {
		labels["pagerduty_incident_key"] = inc.IncidentKey
	}
	service := ""
	if inc.Service != nil {
		service = inc.Service.Summary
	}
	out.alerts = []workflows.Alert{{
		ID:        "pagerduty:" + e.ID,
		Source:    SourcePagerDuty,
		Title:     truncate(title, workflows.MaxTitleLen),
		DedupeKey: "pagerduty:" + keyPart(inc.ID),
		Severity:  sev,
		Status:    status,
		Service:   service,
		Labels:    labels,
	}}
	return out, nil
}
