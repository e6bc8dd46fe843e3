package incidents_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/signing"
)

func TestKeyFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "alice.pem")
	s, err := incidents.GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode %04o, want 0600", perm)
		}
		if dir, _ := os.Stat(filepath.Dir(path)); dir.Mode().Perm() != 0o700 {
			t.Errorf("key directory mode %04o, want 0700", dir.Mode().Perm())
		}
	}
	loaded, err := incidents.LoadSigner(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.PublicKey() != s.PublicKey() || loaded.Fingerprint() != s.Fingerprint() {
		t.Errorf("loaded %s, generated %s", loaded, s)
	}
	if _, err := signing.ParsePublicKey(s.PublicKey()); err != nil {
		t.Errorf("public key line does not parse as the roster reads it: %v", err)
	}
	// Never overwritten.
	before, _ := os.ReadFile(path)
	if _, err := incidents.GenerateKeyFile(path); err == nil || !strings.Contains(err.Error(), "exists; not overwriting it") {
		t.Errorf("second keygen to the same file: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the key file changed")
	}
}

// A key file others can read proves nothing: refused, as ssh refuses it.
func TestKeyFileTooOpenIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	path := filepath.Join(t.TempDir(), "k.pem")
	if _, err := incidents.GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := incidents.LoadSigner(path)
		want := fmt.Sprintf("key file %s: permissions %04o are too open: a private key must not be accessible by others; run chmod 600 %s", path, mode, path)
		if err == nil || err.Error() != want {
			t.Errorf("mode %04o: err = %v\nwant %s", mode, err, want)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := incidents.LoadSigner(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.pem"), "no such file or directory"},
		{write("empty.pem", ""), "no PEM block"},
		{write("pub.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), `PEM block "PUBLIC KEY": want "PRIVATE KEY"`},
		{write("junk.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "not a PKCS#8 private key"},
		{dir, "not a regular file"},
	} {
		_, err := incidents.LoadSigner(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}

func TestSignerSignsWhatTheWorkflowVerifies(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := incidents.NewSigner(priv).WithClock(func() time.Time { return at })
	act := workflows.Act{By: "alice", Via: "cli", Approval: "rerun"}
	if err := s.Sign("incident-k", workflows.ActApprove, &act); err != nil {
		t.Fatal(err)
	}
	if act.ID == "" || act.Sig == nil || act.Sig.Key != s.Fingerprint() || act.Sig.Claim != "" || !act.Sig.At.Equal(at) {
		t.Fatalf("signed act %+v sig %+v", act, act.Sig)
	}
	// Through JSON, as the act travels.
	b, _ := json.Marshal(act)
	var got workflows.Act
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	if err := signing.Verify(pub, got.SigningBytes("incident-k", workflows.ActApprove), got.Sig.Value); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	// Bound to the incident and the act's name and fields.
	if signing.Verify(pub, got.SigningBytes("incident-other", workflows.ActApprove), got.Sig.Value) == nil {
		t.Error("verifies for another incident")
	}
	if signing.Verify(pub, got.SigningBytes("incident-k", workflows.ActDeny), got.Sig.Value) == nil {
		t.Error("verifies as deny")
	}
	got.Approval = "other"
	if signing.Verify(pub, got.SigningBytes("incident-k", workflows.ActApprove), got.Sig.Value) == nil {
		t.Error("verifies for another approval")
	}

	svc := incidents.NewServiceSigner("slack", priv)
	a2 := workflows.Act{By: "alice", Via: "slack"}
	if err := svc.Sign("incident-k", workflows.ActAcknowledge, &a2); err == nil {
		t.Error("a service signed without a claim")
	}
	if err := svc.For("slack:U01ALICE").Sign("incident-k", workflows.ActAcknowledge, &a2); err != nil {
		t.Fatal(err)
	}
	if a2.Sig.Key != "service:slack" || a2.Sig.Claim != "slack:U01ALICE" {
		t.Errorf("service signature %+v", a2.Sig)
	}
	if err := signing.Verify(pub, a2.SigningBytes("incident-k", workflows.ActAcknowledge), a2.Sig.Value); err != nil {
		t.Errorf("service signature does not verify: %v", err)
	}
}

// The private key shows nowhere a signer may end up: fmt, slog, JSON.
func TestSignerKeepsItsKey(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	s := incidents.NewSigner(priv)
	pem, err := incidents.MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "signer", s)
	js, _ := json.Marshal(struct{ S *incidents.Signer }{s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), logged.String(), string(js)} {
		if !strings.Contains(out, s.Fingerprint()) {
			t.Errorf("%q does not name the key by its fingerprint", out)
		}
		for _, secret := range []string{fmt.Sprint([]byte(priv)), fmt.Sprintf("%x", []byte(priv.Seed())), string(pem)} {
			if strings.Contains(out, secret[:20]) {
				t.Errorf("%q shows the private key", out)
			}
		}
	}
}
