package slackapp

import (
	"crypto/ed25519"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// declareForTrust opens an incident on the test roster and returns its ID.
func declareForTrust(t *testing.T) (id, key string) {
	t.Helper()
	key = "slack-trust-" + uniq()
	if _, err := incidents.Declare(t.Context(), tc, incidents.DeclareRequest{
		Alert: workflows.Alert{Source: "test", Title: "trust", DedupeKey: key}, Roster: testRoster(t),
	}); err != nil {
		t.Fatal(err)
	}
	return workflows.WorkflowID(key), key
}

func stateOf(t *testing.T, id string) workflows.State {
	t.Helper()
	st, err := incidents.Status(t.Context(), tc, id)
	if err != nil {
		t.Fatal(err)
	}
	return st.State
}

// Without its key the app still takes what the roster allows unsigned (a
// note), and a deciding act is refused with what to do about it; nothing
// changes.
func TestWithoutKeyDecidingActsAreRefused(t *testing.T) {
	needTemporal(t)
	slk := newSlackStandIn(t)
	h := newTestHandlerSigning(t, slk, nil, nil)
	id, key := declareForTrust(t)

	a := slash(t, h, slk, slackAlice, otherChannel, "@"+key+" ack", "trig-"+uniq())
	want := "Not done: acknowledge from Slack needs the datasev Slack app's signing key, which is not configured: ask your admin to set " + EnvKeyFile
	if !strings.HasPrefix(a.text(), want) || a.responseType() != "ephemeral" {
		t.Fatalf("ack without the app's key: %q\nwant %q…", a.text(), want)
	}
	if s := stateOf(t, id); s != workflows.Triggered {
		t.Errorf("state %s after a refused ack, want triggered", s)
	}
	a = slash(t, h, slk, slackCarol, otherChannel, "@"+key+" note unsigned but allowed", "trig-"+uniq())
	if strings.HasPrefix(a.text(), "Not done") {
		t.Fatalf("note without the app's key: %v", a.msg)
	}
	tl, err := incidents.Timeline(t.Context(), tc, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tl {
		if e.Kind == workflows.KindAct && strings.Contains(e.What, "unsigned but allowed") && e.Verified != "unsigned" {
			t.Errorf("note entry %+v: want verified unsigned", e)
		}
		if e.Kind == workflows.KindAct && e.Who == "alice" {
			t.Errorf("the refused ack is in the timeline: %+v", e)
		}
	}
}

// A key the roster does not list for the app signs nothing the incident
// takes; nor does the app's key vouching for someone other than the actor.
func TestWrongServiceKeyIsRefused(t *testing.T) {
	needTemporal(t)
	slk := newSlackStandIn(t)
	impostor := newSigner(func(k ed25519.PrivateKey) *incidents.Signer { return incidents.NewServiceSigner(ServiceName, k) })
	h := newTestHandlerSigning(t, slk, impostor, nil)
	id, key := declareForTrust(t)

	a := slash(t, h, slk, slackAlice, otherChannel, "@"+key+" ack", "trig-"+uniq())
	if a.text() != "Not done: acknowledge by alice refused: signed as service slack: signature does not verify" {
		t.Fatalf("ack signed with a key the roster does not list: %q", a.text())
	}
	if s := stateOf(t, id); s != workflows.Triggered {
		t.Errorf("state %s after a refused ack, want triggered", s)
	}

	// The real key, but vouching for bob while the act says alice.
	_, err := incidents.ActSigned(t.Context(), tc, appSigner.For("slack:"+slackBob), id, workflows.ActAcknowledge, workflows.Act{By: "alice", Via: Via})
	var rej *incidents.RejectedError
	if !errors.As(err, &rej) || rej.Message != "acknowledge by alice refused: service slack vouches for slack:"+slackBob+", who is not alice on the roster" {
		t.Fatalf("a claim for someone else: %v", err)
	}
	// And a signature made too long ago.
	old := appSigner.For("slack:" + slackAlice).WithClock(func() time.Time { return time.Now().Add(-11 * time.Minute) })
	_, err = incidents.ActSigned(t.Context(), tc, old, id, workflows.ActAcknowledge, workflows.Act{By: "alice", Via: Via})
	if !errors.As(err, &rej) || !strings.Contains(rej.Message, "signed acts are taken for 10m0s; sign it again") {
		t.Fatalf("an old signature: %v", err)
	}
	if s := stateOf(t, id); s != workflows.Triggered {
		t.Errorf("state %s after refused acks, want triggered", s)
	}
}

// The app's key file, like a person's, must be the owner's alone.
func TestAppKeyFileTooOpen(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	path := filepath.Join(t.TempDir(), "slack-app.pem")
	if _, err := incidents.GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFromEnv(func(k string) string {
		if k == EnvKeyFile {
			return path
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.SigningSecret = signingKey
	_, err = New(cfg, Deps{Temporal: offlineClient(t), Roster: testRoster(t)})
	want := "slackapp: " + EnvKeyFile + ": key file " + path + ": permissions 0644 are too open"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("New with a 0644 key file: %v\nwant %s…", err, want)
	}
	// 0600: loaded, and the roster (which lists another key) is named in
	// the startup log.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	h, err := New(cfg, Deps{Temporal: offlineClient(t), Roster: testRoster(t), Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if !strings.Contains(logged.String(), "the roster lists another key for the app") {
		t.Errorf("startup log: %s", logged.String())
	}
	// No key at all: the log says deciding acts will be refused.
	logged.Reset()
	h, err = New(Config{SigningSecret: signingKey}, Deps{Temporal: offlineClient(t), Roster: testRoster(t), Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if !strings.Contains(logged.String(), "no signing key: the incidents refuse deciding acts from Slack") {
		t.Errorf("startup log without a key: %s", logged.String())
	}
}
