package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/worker/service/servicetest"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/signing"
)

var keysLine = regexp.MustCompile(`(?m)^    keys: \["(ed25519:[A-Za-z0-9+/=]+)"\]$`)

// keygen runs `datasev keygen --out path` and returns the public key line
// it printed for the roster.
func keygen(t *testing.T, envs map[string]string, path string) string {
	t.Helper()
	code, out, errs := runCLI(t, envs, "keygen", "--out", path)
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errs)
	}
	m := keysLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keygen printed no keys line:\n%s", out)
	}
	return m[1]
}

func TestKeygen(t *testing.T) {
	home := t.TempDir()
	envs := map[string]string{"HOME": home}
	path := filepath.Join(t.TempDir(), "alice.pem")
	pub := keygen(t, envs, path)
	s, err := incidents.LoadSigner(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.PublicKey() != pub {
		t.Errorf("printed %s, the file holds %s", pub, s.PublicKey())
	}
	if _, err := signing.ParsePublicKey(pub); err != nil {
		t.Errorf("the roster would not take the printed key: %v", err)
	}
	_, out, _ := runCLI(t, envs, "keygen", "--out", path+".2")
	if !strings.Contains(out, "fingerprint SHA256:") || !strings.Contains(out, "export DATASEV_KEY_FILE="+path+".2") {
		t.Errorf("keygen output:\n%s", out)
	}
	// Never overwritten.
	before, _ := os.ReadFile(path)
	code, _, errs := runCLI(t, envs, "keygen", "--out", path)
	if code != 1 || !strings.Contains(errs, "key file "+path+": exists; not overwriting it") {
		t.Errorf("keygen over an existing file: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("keygen changed an existing key file")
	}
	// The default file, where the act commands look without DATASEV_KEY_FILE.
	if code, out, errs := runCLI(t, envs, "keygen"); code != 0 || !strings.Contains(out, filepath.Join(home, ".config", "datasev", "key.pem")) {
		t.Errorf("keygen to the default file: exit %d %s %s", code, out, errs)
	}
	if p, _ := keyFile(&env{getenv: func(k string) string { return envs[k] }}, ""); p != filepath.Join(home, ".config", "datasev", "key.pem") {
		t.Errorf("the act commands would sign with %q", p)
	}
	if code, _, errs := runCLI(t, envs, "keygen", "extra"); code != 2 || !strings.Contains(errs, "keygen takes flags only") {
		t.Errorf("keygen with an argument: exit %d %q", code, errs)
	}
}

// A key file others can read is refused before anything is sent, and
// config check says so too.
func TestActRefusesOpenKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	path := filepath.Join(t.TempDir(), "alice.pem")
	keygen(t, nil, path)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	// Temporal is unreachable: the key is checked before dialling.
	envs := map[string]string{"TEMPORAL_ADDRESS": closedPort(t), "TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"), EnvKeyFile: path}
	want := fmt.Sprintf("datasev: key file %s: permissions 0644 are too open: a private key must not be accessible by others; run chmod 600 %s\n", path, path)
	code, _, errs := runCLI(t, envs, "approve", "k", "--by", "alice", "--approval", "a1")
	if code != 1 || errs != want {
		t.Errorf("approve with a 0644 key: exit %d\n got %q\nwant %q", code, errs, want)
	}
	code, _, errs = runCLI(t, map[string]string{"TEMPORAL_ADDRESS": envs["TEMPORAL_ADDRESS"], "TEMPORAL_CONFIG_FILE": envs["TEMPORAL_CONFIG_FILE"]}, "ack", "k", "--by", "alice", "--key", filepath.Join(t.TempDir(), "missing.pem"))
	if code != 1 || !strings.Contains(errs, "missing.pem: no such file or directory (make one with `datasev keygen --out") {
		t.Errorf("ack with a missing --key: exit %d %q", code, errs)
	}
	_, out, _ := runCheck(t, envs, "config", "check")
	if l := checkOf(out, "key"); !strings.Contains(l, "error") || !strings.Contains(l, "permissions 0644 are too open") {
		t.Errorf("config check key line: %q", l)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ = runCheck(t, envs, "config", "check")
	if l := checkOf(out, "key"); !strings.Contains(l, "ok") || !strings.Contains(l, "SHA256:") {
		t.Errorf("config check key line: %q", l)
	}
	_, out, _ = runCheck(t, map[string]string{"HOME": t.TempDir()}, "config", "check")
	if l := checkOf(out, "key"); !strings.Contains(l, "off") || !strings.Contains(l, "datasev keygen") {
		t.Errorf("config check key line without a key: %q", l)
	}
}

// On the dev server, with the worker of production and the default trust
// policy: a deciding act without a key is refused with what to do instead
// and changes nothing; signed with the person's key it is taken, and the
// timeline says how it was verified; a key that is not the person's is
// refused.
func TestSignedActsOnDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Temporal dev server; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	srv, err := devstack.Start(ctx, devstack.Options{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	const queue = "cli-signed-acts"
	stop, err := servicetest.Start(srv.Client(), service.Config{TaskQueue: queue}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	dir := t.TempDir()
	aliceKey, erinKey := filepath.Join(dir, "alice.pem"), filepath.Join(dir, "erin.pem")
	alicePub, erinPub := keygen(t, nil, aliceKey), keygen(t, nil, erinKey)
	at := fmt.Sprintf("%02d:00", (time.Now().UTC().Hour()+12)%24)
	roster := fmt.Sprintf(`team: cli-team
timezone: UTC
people:
  - id: alice
    keys: ["%s"]
  - {id: bob}
  - {id: erin, keys: ["%s"]}
shifts:
  - {name: all, start: "%s", end: "%s", commander: alice, secondary: bob, smes: [erin]}
`, alicePub, erinPub, at, at)
	rosterFile := writeFile(t, dir, "roster.yaml", roster)
	if _, err := oncall.Load(rosterFile); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		"TEMPORAL_ADDRESS": srv.HostPort(), "TEMPORAL_NAMESPACE": srv.Namespace(),
		"TEMPORAL_CONFIG_FILE": filepath.Join(dir, "none.toml"), EnvRoster: rosterFile, EnvTaskQueue: queue,
		"HOME": filepath.Join(dir, "home"), // no default key
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	run := func(envs map[string]string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(ctx, args, func(k string) string { return envs[k] }, &out, &errb)
		t.Logf("datasev %s → %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		return code, out.String(), errb.String()
	}
	key := fmt.Sprintf("cli-signed-%d", time.Now().UnixNano())
	if code, _, errs := run(base, "declare", "--title", "orders late", "--key", key); code != 0 {
		t.Fatalf("declare: %s", errs)
	}
	id := workflows.WorkflowID(key)
	t.Cleanup(func() { _ = srv.Client().TerminateWorkflow(context.Background(), id, "", "test over") })
	state := func() workflows.State {
		st, err := incidents.Status(ctx, srv.Client(), id)
		if err != nil {
			t.Fatal(err)
		}
		return st.State
	}

	// No key: refused with the workflow's words and the CLI's hint.
	code, _, errs := run(base, "ack", key, "--by", "alice")
	if code != 1 || !strings.Contains(errs, "datasev: acknowledge by alice refused: acknowledge needs a verified identity and this one is unsigned: act through Slack, or with the datasev CLI and your key (datasev keygen; key_file in the CLI config)") ||
		!strings.Contains(errs, "(this CLI has no key: make one with `datasev keygen`, add the public key it prints to your roster entry, and set DATASEV_KEY_FILE or pass --key)") {
		t.Fatalf("unsigned ack: exit %d %q", code, errs)
	}
	if s := state(); s != workflows.Triggered {
		t.Fatalf("state %s after an unsigned ack", s)
	}
	// Notes are taken unsigned by the default policy.
	if code, _, errs := run(base, "note", key, "--by", "erin", "--text", "looking"); code != 0 {
		t.Fatalf("unsigned note: %s", errs)
	}
	// Signed: taken.
	if code, out, errs := run(with(EnvKeyFile, aliceKey), "ack", key, "--by", "alice"); code != 0 || !strings.Contains(out, "acknowledge:") {
		t.Fatalf("signed ack: exit %d %s %s", code, out, errs)
	}
	if code, _, errs := run(base, "request-approval", key, "--by", "erin", "--key", erinKey, "--approval", "rerun", "--action", "re-run load_orders"); code != 0 {
		t.Fatalf("signed request-approval: %s", errs)
	}
	// Unsigned approve, as an Update and as a Signal: refused; the signal
	// is recorded as rejected.
	if code, _, errs := run(base, "approve", key, "--by", "alice", "--approval", "rerun"); code != 1 || !strings.Contains(errs, "datasev: approve by alice refused: approve needs a verified identity and this one is unsigned") {
		t.Fatalf("unsigned approve: exit %d %q", code, errs)
	}
	if code, _, errs := run(base, "approve", key, "--by", "alice", "--approval", "rerun", "--signal"); code != 0 {
		t.Fatalf("unsigned approve as a signal: %s", errs)
	}
	// Erin's key in alice's name: refused.
	code, _, errs = run(with(EnvKeyFile, erinKey), "approve", key, "--by", "alice", "--approval", "rerun")
	erin, _ := incidents.LoadSigner(erinKey)
	if code != 1 || !strings.Contains(errs, "datasev: approve by alice refused: key "+erin.Fingerprint()+" is not one of alice's keys in the roster") {
		t.Fatalf("approve with erin's key as alice: exit %d %q", code, errs)
	}
	st, err := incidents.Status(ctx, srv.Client(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PendingApprovals) != 1 {
		t.Fatalf("after the refused approvals: pending %+v", st.PendingApprovals)
	}
	// Alice's key: approved.
	if code, out, errs := run(with(EnvKeyFile, aliceKey), "approve", key, "--by", "alice", "--approval", "rerun", "--reason", "idempotent"); code != 0 || !strings.Contains(out, "approve:") {
		t.Fatalf("signed approve: exit %d %s %s", code, out, errs)
	}
	alice, _ := incidents.LoadSigner(aliceKey)
	var shown string
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, shown, _ = run(base, "show", key)
		if strings.Contains(shown, "rejected") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, want := range []string{
		"alice (cli) [key " + alice.Fingerprint() + "]",
		"erin (cli) [key " + erin.Fingerprint() + "]",
		"erin (cli) [unsigned]",
		"approve needs a verified identity",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("show misses %q:\n%s", want, shown)
		}
	}
}
