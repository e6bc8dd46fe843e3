package codec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datasev/datasev/worker/codec"
)

// rawKey returns a random AES-256 key.
func rawKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, codec.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// env is a getenv over a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseKeysActiveIsFirstOrMarked(t *testing.T) {
	k1, k2, k3 := rawKey(t), rawKey(t), rawKey(t)
	first := fmt.Sprintf("# datasev codec keys\n\nk1:%s\nk2:%s  # newer\n", b64(k1), b64(k2))
	kr, err := codec.ParseKeys("keys", strings.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if kr.Active() != "k1" || !slices.Equal(kr.IDs(), []string{"k1", "k2"}) {
		t.Fatalf("active %q ids %v; want k1 of [k1 k2]", kr.Active(), kr.IDs())
	}
	marked := fmt.Sprintf("k1:%s\nk2:%s active\nk3:%s\n", b64(k1), b64(k2), strings.TrimRight(b64(k3), "="))
	kr, err = codec.ParseKeys("keys", strings.NewReader(marked))
	if err != nil {
		t.Fatal(err)
	}
	if kr.Active() != "k2" || !kr.Has("k3") || kr.Has("k4") {
		t.Fatalf("active %q ids %v; want k2 of [k1 k2 k3]", kr.Active(), kr.IDs())
	}
}

func TestParseKeysErrorsNameTheLine(t *testing.T) {
	good, short := b64(rawKey(t)), b64(make([]byte, 16))
	cases := []struct {
		name, file, want string
	}{
		{"wrong length", "# c\nk1:" + good + "\n\nk2:" + short + "\n", "keys line 4: key \"k2\": 16 bytes; AES-256 needs 32"},
		{"bad base64", "k1:" + good + "\nk2:not*base64!\n", "keys line 2: key \"k2\": not valid base64"},
		{"duplicate", "k1:" + good + "\n#\nk1:" + b64(rawKey(t)) + "\n", "keys line 3: duplicate key ID \"k1\" (first on line 1)"},
		{"no colon", "k1" + good + "\n", "keys line 1: no ':'"},
		{"bad id", "k 1:" + good + "\n", "keys line 1: want `id:base64key`"},
		{"bad id chars", "k/1:" + good + "\n", "keys line 1: key ID \"k/1\": only letters"},
		{"empty id", ":" + good + "\n", "keys line 1: empty key ID"},
		{"two active", "k1:" + good + " active\nk2:" + b64(rawKey(t)) + " active\n", "keys line 2: key \"k2\" marked active, but key \"k1\" on line 1 is already active"},
		{"junk word", "k1:" + good + " primary\n", "keys line 1: want `id:base64key` optionally followed by `active`"},
		{"empty", "# nothing\n\n", "keys: no keys"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := codec.ParseKeys("keys", strings.NewReader(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v; want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), good) {
				t.Fatalf("error %q echoes key material", err)
			}
		})
	}
}

func TestKeyringFromEnv(t *testing.T) {
	key := rawKey(t)
	t.Run("not configured", func(t *testing.T) {
		kr, ok, err := codec.KeyringFromEnv(env(nil))
		if kr != nil || ok || err != nil {
			t.Fatalf("got %v %v %v; want nil false nil", kr, ok, err)
		}
	})
	t.Run("single key", func(t *testing.T) {
		kr, ok, err := codec.KeyringFromEnv(env(map[string]string{codec.EnvKey: b64(key), codec.EnvKeyID: "prod-1"}))
		if err != nil || !ok || kr.Active() != "prod-1" {
			t.Fatalf("got %v %v %v; want keyring with prod-1", kr, ok, err)
		}
		kr, _, err = codec.KeyringFromEnv(env(map[string]string{codec.EnvKey: b64(key)}))
		if err != nil || kr.Active() != codec.DefaultKeyID {
			t.Fatalf("got %v %v; want keyring with %s", kr, err, codec.DefaultKeyID)
		}
	})
	t.Run("file", func(t *testing.T) {
		p := writeFile(t, "a:"+b64(key)+"\nb:"+b64(rawKey(t))+" active\n")
		kr, ok, err := codec.KeyringFromEnv(env(map[string]string{codec.EnvKeysFile: p}))
		if err != nil || !ok || kr.Active() != "b" {
			t.Fatalf("got %v %v %v; want keyring with b active", kr, ok, err)
		}
	})
	for name, m := range map[string]map[string]string{
		"both":            {codec.EnvKeysFile: "/x", codec.EnvKey: b64(key)},
		"bad single":      {codec.EnvKey: "short"},
		"missing file":    {codec.EnvKeysFile: filepath.Join(t.TempDir(), "nope")},
		"id without key":  {codec.EnvKeyID: "k"},
		"bad single id":   {codec.EnvKey: b64(key), codec.EnvKeyID: "a b"},
		"bad file line 2": {codec.EnvKeysFile: writeFile(t, "a:"+b64(key)+"\nb:xx\n")},
	} {
		t.Run("error "+name, func(t *testing.T) {
			if _, ok, err := codec.KeyringFromEnv(env(m)); err == nil || ok {
				t.Fatalf("got ok=%v err=%v; want an error", ok, err)
			}
		})
	}
}

func TestKeyringNeverShowsKeyMaterial(t *testing.T) {
	key := rawKey(t)
	kr, err := codec.NewKeyring("k1", map[string][]byte{"k1": key})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("keys", "keyring", kr)
	outputs := []string{kr.String(), fmt.Sprintf("%v %+v %#v %s", kr, kr, kr, kr), logged.String()}
	for _, out := range outputs {
		if !strings.Contains(out, "k1") {
			t.Errorf("%q does not name the key ID", out)
		}
		for _, enc := range []string{b64(key), fmt.Sprintf("%x", key), string(key), fmt.Sprint(key)} {
			if strings.Contains(out, enc) {
				t.Fatalf("%q shows key material", out)
			}
		}
	}
}

func TestNewKeyring(t *testing.T) {
	if _, err := codec.NewKeyring("k2", map[string][]byte{"k1": rawKey(t)}); err == nil || !strings.Contains(err.Error(), `active key "k2" is not in the keyring`) {
		t.Fatalf("err %v; want active key not in keyring", err)
	}
	if _, err := codec.NewKeyring("k1", map[string][]byte{"k1": make([]byte, 24)}); err == nil || !strings.Contains(err.Error(), "24 bytes") {
		t.Fatalf("err %v; want wrong length", err)
	}
	if _, err := codec.NewKeyring("", nil); err == nil {
		t.Fatal("empty keyring accepted")
	}
}

func TestNewKeyLineParses(t *testing.T) {
	line, err := codec.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := codec.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if line == other {
		t.Fatal("two NewKey calls returned the same line")
	}
	kr, err := codec.ParseKeys("generated", strings.NewReader(line+"\n"+other+" active\n"))
	if err != nil {
		t.Fatalf("generated lines %q, %q do not parse: %v", line, other, err)
	}
	id, _, _ := strings.Cut(other, ":")
	if kr.Active() != id || len(kr.IDs()) != 2 {
		t.Fatalf("active %q ids %v; want %q of two", kr.Active(), kr.IDs(), id)
	}
	if _, err := codec.NewKeyWithID("bad id"); err == nil {
		t.Fatal("NewKeyWithID accepted an ID with a space")
	}
}
