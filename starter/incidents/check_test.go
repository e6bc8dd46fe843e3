package incidents

import (
	"errors"
	"strings"
	"testing"

	"github.com/datasev/datasev/workflows"
)

func TestCheckDedupeKey(t *testing.T) {
	for _, ok := range []string{"k", "airflow:orders_daily", "alertmanager:Disk_Full:0123abcd", "slack-0a1b2c3d4e5f", "a.b-c_d:e", strings.Repeat("x", workflows.MaxDedupeKeyLen)} {
		if err := CheckDedupeKey(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for key, want := range map[string]string{
		"":           "dedupe_key: required",
		"k/runbook":  `dedupe_key: "/" at byte 1 is not allowed`, // would take incident-k's runbook child ID
		"a/b":        `"/" at byte 1`,
		"a b":        `" " at byte 1`,
		"a\nb":       `"\n" at byte 1`,
		"é":          "at byte 0",
		"a%2Fb":      `"%" at byte 1`,
		"k#x":        `"#"`,
		"<!channel>": `"<" at byte 0`,
		strings.Repeat("x", workflows.MaxDedupeKeyLen+1): "201 bytes, at most 200",
	} {
		err := CheckDedupeKey(key)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", key, err, want)
		}
	}
}

// TestKeysAreInjective: no key's workflow ID is a workflow ID datasev
// derives from another key (the runbook child "incident-<key>/runbook").
func TestKeysAreInjective(t *testing.T) {
	child := workflows.WorkflowID("k") + "/runbook"
	key := strings.TrimPrefix(child, workflows.WorkflowIDPrefix) // "k/runbook"
	if CheckDedupeKey(key) == nil {
		t.Fatalf("key %q is accepted: its incident would take %q, incident-k's runbook child", key, child)
	}
}

func TestKeyPart(t *testing.T) {
	for in, want := range map[string]string{"Disk Full": "Disk_Full", "a/b": "a_b", "ok:1.2-3_4": "ok:1.2-3_4", "é": "__"} {
		if got := KeyPart(in); got != want || CheckDedupeKey(got) != nil {
			t.Errorf("KeyPart(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckAlert(t *testing.T) {
	base := workflows.Alert{Title: "t", DedupeKey: "k", Source: "cli"}
	if err := CheckAlert(base); err != nil {
		t.Fatal(err)
	}
	big := func(n int) string { return strings.Repeat("x", n) }
	for name, c := range map[string]struct {
		edit func(*workflows.Alert)
		want string
	}{
		"id":          {func(a *workflows.Alert) { a.ID = big(MaxAlertIDLen + 1) }, "id: 201 bytes, at most 200"},
		"source":      {func(a *workflows.Alert) { a.Source = big(MaxSourceLen + 1) }, "source: 65 bytes, at most 64"},
		"service":     {func(a *workflows.Alert) { a.Service = big(MaxServiceLen + 1) }, "service: 257 bytes, at most 256"},
		"dataset":     {func(a *workflows.Alert) { a.Dataset = big(MaxDatasetLen + 1) }, "dataset: 513 bytes, at most 512"},
		"label value": {func(a *workflows.Alert) { a.Labels = map[string]string{"dag": big(1 << 20)} }, `labels["dag"]: value of 1048576 bytes, at most 1024`},
		"label name":  {func(a *workflows.Alert) { a.Labels = map[string]string{big(MaxLabelKeyLen + 1): "v"} }, "labels: a label name of 129 bytes"},
		"empty name":  {func(a *workflows.Alert) { a.Labels = map[string]string{"": "v"} }, "labels: empty label name"},
		"label count": {func(a *workflows.Alert) {
			a.Labels = map[string]string{}
			for i := range workflows.MaxLabels + 1 {
				a.Labels[big(i+1)] = "v"
			}
		}, "labels: 65 labels, at most 64"},
		"key": {func(a *workflows.Alert) { a.DedupeKey = "k/runbook" }, `dedupe_key: "/"`},
	} {
		a := base
		c.edit(&a)
		if err := CheckAlert(a); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestDeclareChecksShape: every front door's Declare (the CLI's, the Slack
// app's, the intake's) refuses a key of the wrong shape and oversized
// fields before it calls Temporal (the client here is nil).
func TestDeclareChecksShape(t *testing.T) {
	for _, a := range []workflows.Alert{
		{Source: "cli", Title: "t", DedupeKey: "k/runbook"},
		{Source: "slack", Title: "t", DedupeKey: "k", Labels: map[string]string{"note": strings.Repeat("x", 1<<20)}},
		{Source: "cli", Title: "t", DedupeKey: "k", Service: strings.Repeat("s", 1000)},
	} {
		_, err := Declare(t.Context(), nil, DeclareRequest{Alert: a})
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%+v: %v, want a ValidationError", a.DedupeKey, err)
		}
		if err := SendAlert(t.Context(), nil, a); !errors.As(err, &ve) {
			t.Errorf("SendAlert %+v: %v, want a ValidationError", a.DedupeKey, err)
		}
	}
}
