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
// is listed with "ignored": true). Errors are JSON {"error": "…"}: 400 for a
// malformed or invalid body (naming the field, or the byte offset of a
// syntax error), 401 for a missing or wrong token or signature, 413 for a
// body over 1 MiB, 503 when Temporal cannot be reached, 500 when Declare
// fails otherwise (the sender retries; alert IDs keep retries from counting
// twice).
//
// # Authentication
//
// Each source has its own secret, read from the environment (see
// AuthFromEnv): DATASEV_INTAKE_ALERTMANAGER_TOKEN, DATASEV_INTAKE_GENERIC_TOKEN,
// DATASEV_INTAKE_DBT_CLOUD_SECRET, DATASEV_INTAKE_PAGERDUTY_SECRET, or the
// same names with _FILE naming a file that holds the value. Tokens and
// signatures are compared in constant time. A source with no secret is
// refused (401) unless the server runs with Auth.Insecure
// (`datasev serve --insecure-no-auth`, for development only).
//
// # Generic JSON
//
// Fields: title (required), dedupe_key (required), severity (SEV1..SEV5, 1..5,
// or critical/high/error/warning/info), status (firing or resolved), source
// (default "generic"), description, service, dataset, labels (string map),
// and id: a delivery ID, so that a retried POST is counted once. Unknown
// fields are rejected. For example:
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
// still-firing alert count once, and its resolution once more.
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
// Neither dbt Cloud's nor PagerDuty's signature covers a timestamp, so a
// captured request stays valid; replay is harmless because the alert ID
// makes a redelivery count once.
package intake
