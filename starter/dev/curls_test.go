package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/intake"
)

// A secret of the user's is named, never printed: the variable, or the
// file its _FILE form names; dev's own are printed.
func TestCurlsNameYourSecrets(t *testing.T) {
	user := map[string]string{intake.EnvGenericToken: "s3cr3t", intake.EnvPagerDutySecret + "_FILE": "/run/secrets/pd key"}
	auth := intake.Auth{GenericToken: "s3cr3t", AlertmanagerToken: "dev-am", DBTCloudSecret: "dev-dbt", PagerDutySecret: "from-file"}
	lines := curls("http://127.0.0.1:1", secretsOf(func(k string) string { return user[k] }, auth), time.Now())
	all := ""
	for _, c := range lines {
		all += c.line + "\n"
	}
	for _, want := range []string{`Bearer $DATASEV_INTAKE_GENERIC_TOKEN"`, `-hmac "$(cat '/run/secrets/pd key')"`, `Bearer dev-am"`, `-hmac "dev-dbt"`} {
		if !strings.Contains(all, want) {
			t.Errorf("lines miss %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "s3cr3t") || strings.Contains(all, "from-file") {
		t.Errorf("a secret of yours is printed:\n%s", all)
	}
}

// The signed lines, run by the shell with curl replaced by a stub that
// prints its arguments, send a body with a fresh timestamp and the
// signature the intake computes for it (intake.Sign), in each source's
// header.
func TestCurlSignaturesMatchTheIntake(t *testing.T) {
	for _, tool := range []string{"sh", "openssl", "awk", "date"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the signed lines need %s: %v", tool, err)
		}
	}
	auth := intake.Auth{DBTCloudSecret: "dev-dbt-secret", PagerDutySecret: `pd "quoted" $ecret`}
	lines := curls("http://127.0.0.1:1", secretsOf(func(string) string { return "" }, auth), time.Now())
	for _, c := range lines[2:] {
		day := time.Now().UTC().Format("2006-01-02T")
		out, err := exec.Command("sh", "-c", `curl() { for a in "$@"; do printf '%s\n' "$a"; done; }; `+c.line).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.what, err, out)
		}
		args := strings.Split(strings.TrimSpace(string(out)), "\n")
		var header, body string
		for i, a := range args {
			switch {
			case a == "-H" && i+1 < len(args) && !strings.HasPrefix(args[i+1], "Content-Type"):
				header = args[i+1]
			case a == "--data-binary" && i+1 < len(args):
				body = args[i+1]
			}
		}
		secret, want := auth.DBTCloudSecret, "Authorization: "
		if strings.HasPrefix(c.what, "PagerDuty") {
			secret, want = auth.PagerDutySecret, "X-PagerDuty-Signature: v1="
		}
		if header != want+intake.Sign(secret, []byte(body)) {
			t.Errorf("%s: header %q, want %s<HMAC of the body>\nbody: %s", c.what, header, want, body)
		}
		fresh := strings.Contains(body, day) || strings.Contains(body, time.Now().UTC().Format("2006-01-02T"))
		if strings.Contains(body, "$(") || !fresh {
			t.Errorf("%s: body without a fresh timestamp: %s", c.what, body)
		}
	}
}
