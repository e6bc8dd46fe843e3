// Package signing holds the key format datasev's acts are signed with: an
// ed25519 public key written "ed25519:<base64>", its fingerprint, and the
// verification of a signature over bytes. Everything here is pure and
// deterministic, so the incident workflow verifies acts itself and a replay
// decides exactly what the first run decided.
package signing

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every public key string.
const Prefix = "ed25519:"

// ParsePublicKey reads a public key written "ed25519:<base64>", the form
// `datasev keygen` prints for the roster.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return nil, fmt.Errorf("public key %q: want %s<base64> (the line `datasev keygen` prints)", clip(s), Prefix)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("public key %q: not base64: %w", clip(s), err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %q: %d bytes, an ed25519 public key has %d", clip(s), len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// FormatPublicKey writes a public key the way the roster lists it.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return Prefix + base64.StdEncoding.EncodeToString(pub)
}

// Fingerprint names a public key in acts and timelines: "SHA256:" and the
// unpadded base64 of the key's SHA-256, as OpenSSH prints fingerprints.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// Verify checks a base64 ed25519 signature of msg by pub.
func Verify(pub ed25519.PublicKey, msg []byte, sig string) error {
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(b) != ed25519.SignatureSize {
		return fmt.Errorf("%w: not a base64 ed25519 signature", ErrBadSignature)
	}
	if !ed25519.Verify(pub, msg, b) {
		return ErrBadSignature
	}
	return nil
}

// Sign signs msg with priv and returns the base64 signature. The workflow
// never calls it: signers are the CLI, the front doors and tests.
func Sign(priv ed25519.PrivateKey, msg []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg))
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}
