package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/datasev/datasev/starter/intake"
)

// curl is one example delivery to an intake endpoint: a shell command line
// that works as printed.
type curl struct {
	what string
	line string
}

// intakeSecret is how a curl line names a source's secret: the value dev
// made up for this run, or a reference to the user's own (the environment
// variable, or the file its _FILE form names), so dev never prints a
// secret of the user's.
type intakeSecret struct {
	value string // dev's own, printed as is
	env   string // the user's: the variable holding it, or
	file  string // the file holding it
}

// quoted is the secret as it goes inside a double-quoted shell word.
func (s intakeSecret) quoted() string {
	switch {
	case s.env != "":
		return "$" + s.env
	case s.file != "":
		return "$(cat " + shellQuote(s.file) + ")"
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`").Replace(s.value)
}

// intakeSecrets name each source's secret.
type intakeSecrets struct {
	alertmanager, generic, dbtCloud, pagerDuty intakeSecret
}

// anyYours reports whether a source's secret is the user's.
func (s intakeSecrets) anyYours() bool {
	for _, x := range []intakeSecret{s.alertmanager, s.generic, s.dbtCloud, s.pagerDuty} {
		if x.env != "" || x.file != "" {
			return true
		}
	}
	return false
}

// secretsOf names each source's secret: the user's where getenv sets it
// (NAME, else NAME_FILE), else the value auth holds, made up by dev.
func secretsOf(getenv func(string) string, auth intake.Auth) intakeSecrets {
	of := func(name, value string) intakeSecret {
		switch {
		case strings.TrimSpace(getenv(name)) != "":
			return intakeSecret{env: name}
		case strings.TrimSpace(getenv(name+"_FILE")) != "":
			return intakeSecret{file: getenv(name + "_FILE")}
		}
		return intakeSecret{value: value}
	}
	return intakeSecrets{
		alertmanager: of(intake.EnvAlertmanagerToken, auth.AlertmanagerToken),
		generic:      of(intake.EnvGenericToken, auth.GenericToken),
		dbtCloud:     of(intake.EnvDBTCloudSecret, auth.DBTCloudSecret),
		pagerDuty:    of(intake.EnvPagerDutySecret, auth.PagerDutySecret),
	}
}

// curls are one command line per intake endpoint at base, each meeting its
// source's authentication: a bearer token for the generic endpoint and
// Alertmanager; for dbt Cloud and PagerDuty an HMAC-SHA256 of the body,
// computed by openssl when the line runs, over a body whose signed
// timestamp is taken then too (the intake refuses one outside its replay
// window). now dates the Alertmanager alert.
func curls(base string, s intakeSecrets, now time.Time) []curl {
	const (
		curlJSON = "curl -sS --fail-with-body -H 'Content-Type: application/json'"
		// stamp is an RFC 3339 UTC time when the line runs, spliced into a
		// single-quoted body.
		stamp = `'$(date -u +%Y-%m-%dT%H:%M:%SZ)'`
		// unique is a number unique to the second the line runs.
		unique = `'$(date +%s)'`
	)
	generic := `{"title":"orders late","severity":"SEV3","dedupe_key":"orders-late","source":"airflow","service":"orders"}`
	alertmanager := fmt.Sprintf(`{"version":"4","status":"firing","receiver":"datasev","alerts":[{"status":"firing",`+
		`"labels":{"alertname":"OrdersLoadLate","severity":"warning","service":"orders"},"annotations":{"summary":"orders load late"},`+
		`"startsAt":"%s","fingerprint":"0a1b2c3d4e5f6789"}]}`, now.UTC().Format(time.RFC3339))
	dbt := `{"accountId":1,"webhooksID":"wh-dev","eventId":"ev-` + unique + `","timestamp":"` + stamp + `","eventType":"job.run.errored",` +
		`"webhookName":"datasev dev","data":{"jobId":"42","jobName":"nightly analytics","runId":"` + unique + `","environmentName":"prod",` +
		`"projectName":"analytics","runStatus":"Errored","runStatusMessage":"model orders failed"}}`
	pagerDuty := `{"event":{"id":"ev-` + unique + `","event_type":"incident.triggered","resource_type":"incident","occurred_at":"` + stamp + `",` +
		`"data":{"id":"PDEV42","type":"incident","number":42,"status":"triggered","title":"orders dashboard empty","urgency":"high",` +
		`"service":{"id":"PSVC1","summary":"orders"}}}}`
	return []curl{{
		what: "generic JSON (bearer token)",
		line: fmt.Sprintf(`%s -H "Authorization: Bearer %s" -d '%s' %s/alerts`, curlJSON, s.generic.quoted(), generic, base),
	}, {
		what: "Alertmanager webhook (bearer token)",
		line: fmt.Sprintf(`%s -H "Authorization: Bearer %s" -d '%s' %s/alerts/alertmanager`, curlJSON, s.alertmanager.quoted(), alertmanager, base),
	}, {
		what: "dbt Cloud webhook (Authorization: hex HMAC-SHA256 of the body; needs openssl)",
		line: fmt.Sprintf(`body='%s'; %s -H "Authorization: %s" --data-binary "$body" %s/alerts/dbt-cloud`,
			dbt, curlJSON, fmt.Sprintf(hmacShell, s.dbtCloud.quoted()), base),
	}, {
		what: "PagerDuty v3 webhook (X-PagerDuty-Signature: v1=hex HMAC-SHA256 of the body; needs openssl)",
		line: fmt.Sprintf(`body='%s'; %s -H "X-PagerDuty-Signature: v1=%s" --data-binary "$body" %s/alerts/pagerduty`,
			pagerDuty, curlJSON, fmt.Sprintf(hmacShell, s.pagerDuty.quoted()), base),
	}}
}

// hmacShell prints the hex HMAC-SHA256 of $body under the secret (%s, as
// quoted returns it), inside a double-quoted header.
const hmacShell = `$(printf %%s "$body" | openssl dgst -sha256 -hmac "%s" | awk '{print $NF}')`

// shellQuote quotes s as one single-quoted shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
