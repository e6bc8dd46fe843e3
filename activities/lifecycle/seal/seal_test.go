package seal

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasev/datasev/workflows"
)

func TestSealAndCheck(t *testing.T) {
	a, err := New(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(bytes.Repeat([]byte{2}, KeySize))
	ctx := context.Background()
	msg := []byte(`{"decision":"approve"}`)
	s, err := a.Seal(ctx, workflows.SealRequest{Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		by   *Activities
		msg  []byte
		mac  string
		ok   bool
	}{
		{"the seal", a, msg, s.MAC, true},
		{"another message", a, []byte(`{"decision":"deny"}`), s.MAC, false},
		{"another key", other, msg, s.MAC, false},
		{"not base64", a, msg, "!!", false},
		{"empty", a, msg, "", false},
	} {
		got, err := tc.by.Check(ctx, workflows.CheckSealRequest{Message: tc.msg, MAC: tc.mac})
		if err != nil || got.OK != tc.ok {
			t.Errorf("%s: ok=%v err=%v, want ok=%v", tc.name, got.OK, err, tc.ok)
		}
	}
	if _, err := New([]byte("short")); err == nil || !strings.Contains(err.Error(), "need at least 32") {
		t.Errorf("a 5-byte key: %v", err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "seal.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode %v, want 0700", di.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != KeySize {
		t.Errorf("second load: %x, %v; want the same %d-byte key", k2, err, KeySize)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(bad); err == nil || !strings.Contains(err.Error(), "not hex") {
		t.Errorf("a file that is not hex: %v", err)
	}
	if err := os.WriteFile(bad, []byte("abcd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(bad); err == nil || !strings.Contains(err.Error(), "2 bytes, need at least 32") {
		t.Errorf("a short key: %v", err)
	}
}
