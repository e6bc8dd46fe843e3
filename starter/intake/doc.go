// Package intake is datasev's HTTP front door for alerts: it turns
// webhooks from monitors into incidents with incidents.Declare
// (signal-with-start on the dedupe key).
//
// Endpoints:
//
//	POST /alerts/alertmanager  Prometheus Alertmanager webhook (payload version 4); bearer token
//	POST /alerts/dbt-cloud     dbt Cloud job webhook; Authorization = hex HMAC-SHA256 of the body
//	POST /alerts/pagerduty     PagerDuty v3 webhook; X-PagerDuty-Signature: v1=<hex HMAC-SHA256>[,v1=…]
//	POST /alerts               generic JSON (Airflow callbacks, Snowflake alerts, scripts); bearer token
//	GET  /healthz              the process is up
//	GET  /readyz               Temporal answers a health check within 2s
//	GET  /metrics              Prometheus text format
//
// Every accepted request is answered 202 with
//
//	{"incidents": [{"id": "incident-KEY", "run_id": "…", "joined": false, "ui_url": "…"}]}
//
// (an alert that changed nothing, such as a recovery with no open incident,
// is listed with "ignored": true; one that went to an incident grouping
// several alerts also carries "member", its own key, and "group"; one that
// joined its source's alert storm incident "storm": true). Errors are JSON {"error": "…"}, and the
// answer to every bound names the field or header and the bound:
//
//   - 415 when Content-Type is not application/json (or application/*+json);
//   - 401 for a missing or wrong token or signature, and for a signed
//     delivery outside the replay window (below);
//   - 400 for a malformed or invalid body (naming the field, or the byte
//     offset of a syntax error), a field over its bound, or a signature
//     header over its bound;
//   - 413 for a body over 1 MiB, or a delivery of more than Limits.MaxAlerts
//     alerts (default 500; refused whole, nothing declared);
//   - 429 with Retry-After when alerts would open new incidents beyond the
//     source's rate and Limits.Storm is throttle (by default they join the
//     source's alert storm incident instead, below); the body lists the incidents declared and the dedupe
//     keys of those that were not ("throttled"), to send again;
//   - 503 when Temporal cannot be reached, 500 when Declare fails otherwise
//     (the sender retries; alert IDs keep retries from counting twice).
//
// Checks run in this order, so that a request costs little before it has
// proven itself: media type; the credentials in the headers (a bearer token
// entirely; a signature header's size, entry count and hex) before the
// body is read; the body, at most 1 MiB; its signature; the parse; the
// replay window; the alert count; every alert's fields; then Declare.
//
// # Bounds
//
// Per alert (incidents.CheckAlert, the check every front door shares, and
// workflows.Alert.Validate): title 300 bytes, description 4000, dedupe key
// 200 (the generic endpoint's 192, see Scoping), id 200, source 64,
// service 256, dataset 512, at most 64 labels, label names 128 bytes,
// label values 1024. Alertmanager: at most 64 labels and 64 annotations per
// alert, fingerprints 64 bytes (its generator URL is kept as the label
// generator_url when it fits). dbt Cloud job and run IDs and PagerDuty
// event and incident IDs: 64 bytes. Headers: `datasev serve` sets
// http.Server.MaxHeaderBytes to MaxHeaderBytes (64 KiB);
// X-PagerDuty-Signature and dbt Cloud's Authorization are at most 1 KiB,
// X-PagerDuty-Signature at most 8 entries.
//
// Rate: each source (alertmanager, dbt_cloud, pagerduty, generic) may open
// new incidents at Limits.NewIncidentsPerMinute (default 10) with bursts of
// Limits.NewIncidentBurst (default 50): a token bucket per source. Only an
// alert that would open an incident takes a token: Declare already asks
// Temporal whether the key's incident runs, and calls DeclareRequest.Admit
// only when it does not, so a repeat joining an open incident and a
// recovery are never limited. Two first alerts of one key racing may both
// take a token (conservative: never more incidents than the rate).
//
// Storm: an alert beyond the rate joins its source's one alert storm
// incident (key storm:<source>, titled "alert storm: <source>", no runbook,
// the alert's severity) as a member — its own key as Member, Group "alert
// storm" — and is answered 202 with "storm": true; the Commander handles
// the storm by hand and splits members out. A recovery whose own incident
// is not running goes to the storm incident while it runs. An alert whose
// own incident runs joins it, never the storm. Limits.Storm throttle
// (DATASEV_INTAKE_STORM=throttle) answers 429 instead. Storm-routed alerts
// count in datasev_intake_incidents_total{outcome="storm"}.
//
// `datasev serve` reads the limits from the environment (LimitsFromEnv):
// DATASEV_INTAKE_MAX_ALERTS, DATASEV_INTAKE_NEW_INCIDENTS_PER_MINUTE,
// DATASEV_INTAKE_NEW_INCIDENT_BURST, DATASEV_INTAKE_REPLAY_WINDOW,
// DATASEV_INTAKE_STORM.
//
// # Replay window
//
// dbt Cloud's and PagerDuty's signatures cover the body only, so the
// window is checked against the timestamp inside the signed body: dbt
// Cloud's "timestamp", PagerDuty's "event.occurred_at". A delivery more than
// Limits.ReplayWindow (default 10m) older or newer than the intake's clock
// is refused with 401 ("stale delivery"); one without the field with 400.
// Alert IDs already make a redelivery count once within a run; the window
// stops a captured delivery from opening a new run after its incident
// closed (incidents close 30m after resolution by default, past the
// window). Keep the window shorter than the close-after, and the clocks in
// time.
//
// # Scoping
//
// Each intake source owns the dedupe keys that start with its name and a
// colon, and addresses no others: alertmanager:…, dbt_cloud:… and
// pagerduty:… are built by the intake from the payload; the generic
// endpoint puts the key it is given under generic: (once, if the sender
// already wrote it). So a generic-token holder cannot resolve, reopen or
// flood a PagerDuty incident, nor one declared in Slack (slack-…) or with
// the CLI, and a generic alert's source field cannot name another door
// (alertmanager, dbt_cloud, pagerduty, slack, cli). Keys hold ASCII
// letters, digits and - _ . : only (incidents.CheckDedupeKey, which the
// CLI's declare and Slack's /incident declare share through
// incidents.Declare): no '/', so no key's workflow ID equals the ID of
// another incident's runbook child (incident-<key>/runbook).
//
// # Authentication
//
// Each source has its own secret, read from the environment (see
// AuthFromEnv): DATASEV_INTAKE_ALERTMANAGER_TOKEN, DATASEV_INTAKE_GENERIC_TOKEN,
// DATASEV_INTAKE_DBT_CLOUD_SECRET, DATASEV_INTAKE_PAGERDUTY_SECRET, or the
// same names with _FILE naming a file that holds the value; and
// DATASEV_INTAKE_PAGERDUTY_KEY_FILE, the key that signs acknowledgements
// made in PagerDuty (below). Tokens are
// compared as SHA-256 digests in constant time; a signed request's HMAC is
// computed once and compared with each well-formed signature with
// hmac.Equal. A source with no secret is refused (401) unless the server
// runs with Auth.Insecure (`datasev serve --insecure-no-auth`, for
// development only). /healthz, /readyz and /metrics need no credentials;
// /readyz says only whether Temporal answers (the reason goes to the log).
//
// # Generic JSON
//
// Fields: title (required), dedupe_key (required; the incident's key is
// "generic:" and it), severity (SEV1..SEV5, 1..5, or
// critical/high/error/warning/info), status (firing or resolved), source
// (default "generic"; letters, digits, - _ .), description, service,
// dataset, labels (string map), and id: a delivery ID, so that a retried
// POST is counted once. Unknown fields are rejected. For example (the
// incident is incident-generic:airflow:orders_daily):
//
//	curl -sS -X POST http://127.0.0.1:8080/alerts \
//	  -H "Authorization: Bearer $DATASEV_INTAKE_GENERIC_TOKEN" \
//	  -H 'Content-Type: application/json' \
//	  -d '{"title": "orders_daily load failed", "dedupe_key": "airflow:orders_daily",
//	       "severity": "SEV2", "source": "airflow", "service": "orders",
//	       "dataset": "analytics.orders_daily", "labels": {"dag": "orders_daily"}}'
//
// # Mapping decisions
//
// Alertmanager: each alert of the group is one datasev alert. The dedupe
// key is "alertmanager:<alertname>:<fingerprint>": Alertmanager's
// fingerprint is a hash of the alert's full label set, so the same series
// joins one incident and a different series (another instance, say) opens
// its own; when the fingerprint is missing, a hash of the sorted labels
// stands in. The title is annotations.summary, else labels.alertname; the
// description annotations.description; service and dataset come from the
// labels of those names (service also from job). The alert ID is
// fingerprint+startsAt+status, so Alertmanager's repeat notifications of a
// still-firing alert count once, and its resolution once more. The
// delivery's groupKey travels beside the alerts (never as a label, so no
// other sender can claim it) for runbooks that group by it.
//
// Grouping: a runbook's group_by (see package runbooks) may put several
// alerts in one incident, chosen in incidents.Declare: by Alertmanager
// group (amgroup:<runbook>:<hash of the groupKey>) or by label values
// (group:<source>:<runbook>:<values>:<hash>). Each alert keeps its own key
// as its Member. The generic endpoint rejects member and group fields
// (unknown fields), and the intake clears them before Declare, which sets
// them itself: no sender chooses the incident it groups into.
//
// Severity words (labels.severity for Alertmanager, severity for the
// generic endpoint): sev1..sev5 and 1..5 as given; critical, page → SEV2
// (SEV1 is left for a person to declare); high, error, major → SEV3;
// warning, warn, medium, minor → SEV4; info, low, none → SEV5; anything
// else → unset (the runbook's severity, else SEV3).
//
// dbt Cloud: job.run.errored, and job.run.completed with a runStatus other
// than Success, fire; job.run.completed with runStatus Success resolves;
// other events (job.run.started, cancelled runs) are acknowledged and
// ignored. The dedupe key is "dbt_cloud:job:<jobId>"; the alert ID is
// "dbt_cloud:run:<runId>:<status>", so the errored and completed events of
// one failed run count as one alert.
//
// PagerDuty: incident.triggered (and reopened, escalated, priority_updated)
// fire, incident.resolved resolves, other events are ignored. The dedupe
// key is "pagerduty:<incident id>"; the alert ID is the event ID. Severity
// comes from the priority P1..P5, else urgency high → SEV2, low → SEV4.
//
// # Acknowledgements made in PagerDuty
//
// A webhook about a PagerDuty incident datasev raised itself (the worker's
// PagerDuty pages: its incident_key starts "datasev:", the rest naming the
// datasev incident and the page) is not an alert and takes the
// acknowledgement path instead (see pagerduty_ack.go), after the same
// signature and replay-window checks: incident.acknowledged by a PagerDuty
// user the roster maps (people[].pagerduty) becomes the acknowledge act on
// that incident by that person, via "pagerduty"; incident.resolved by a
// mapped user becomes a timeline note, never a resolution; anything else
// (other events, no user agent, an unmapped user, a key naming no
// incident) is answered 202 "ignored" and changes nothing. The answer is
// 202 {"incident": …, "outcome": "acknowledged"|"noted"|"refused"|"ignored",
// "message": …}; the act's ID is the event's, so a redelivery acts once.
//
// The act is signed by the intake as service "pagerduty" vouching for
// "pagerduty:<user ID>", with the private key in
// DATASEV_INTAKE_PAGERDUTY_KEY_FILE (`datasev keygen` writes one; or
// Options.PagerDutySigner). The incident takes it only if the roster's
// trust.services lists that key under name pagerduty with claims
// [pagerduty]; without a key the act goes unsigned and is refused unless
// trust.unsigned takes acknowledge. The intake logs at startup when the key
// is missing or the roster does not list it.
//
// Neither dbt Cloud's nor PagerDuty's signature covers a header timestamp;
// the replay window above uses the one inside the signed body.
package intake
