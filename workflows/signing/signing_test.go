package signing

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

func TestKeysAndSignatures(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := FormatPublicKey(pub)
	got, err := ParsePublicKey(" " + s + "\n")
	if err != nil || !got.Equal(pub) {
		t.Fatalf("round trip of %s: %v", s, err)
	}
	if fp := Fingerprint(pub); !strings.HasPrefix(fp, "SHA256:") || len(fp) != len("SHA256:")+43 {
		t.Errorf("fingerprint %q", fp)
	}
	msg := []byte("approve rerun")
	sig := Sign(priv, msg)
	if err := Verify(pub, msg, sig); err != nil {
		t.Errorf("own signature: %v", err)
	}
	if err := Verify(pub, []byte("deny rerun"), sig); err != ErrBadSignature {
		t.Errorf("signature of another message: %v", err)
	}
	if err := Verify(pub, msg, "bm9wZQ=="); err == nil || !strings.Contains(err.Error(), "not a base64 ed25519 signature") {
		t.Errorf("a short signature: %v", err)
	}
	for in, want := range map[string]string{
		"ssh-ed25519 AAAA":                    "want ed25519:<base64>",
		"ed25519:***":                         "not base64",
		"ed25519:" + "AAAA":                   "3 bytes, an ed25519 public key has 32",
		"ed25519:" + strings.Repeat("A", 400): "an ed25519 public key has 32",
	} {
		if _, err := ParsePublicKey(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePublicKey(%.30q): %v, want %q", in, err, want)
		}
	}
}
