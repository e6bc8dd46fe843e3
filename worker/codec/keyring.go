package codec

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"
)

// Environment variables KeyringFromEnv reads.
const (
	// EnvKeysFile names a keys file: one `id:base64key` line per key,
	// `#` comments, the first key or the one marked `active` encrypting.
	EnvKeysFile = "DATASEV_CODEC_KEYS_FILE"
	// EnvKey is a single base64 AES-256 key (32 bytes), used when
	// EnvKeysFile is unset.
	EnvKey = "DATASEV_CODEC_KEY"
	// EnvKeyID is the ID of the EnvKey key; DefaultKeyID when unset.
	EnvKeyID = "DATASEV_CODEC_KEY_ID"
)

// DefaultKeyID is the ID of a single key given in DATASEV_CODEC_KEY without
// DATASEV_CODEC_KEY_ID.
const DefaultKeyID = "default"

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// maxKeyIDLen bounds key IDs; they travel in every payload's metadata.
const maxKeyIDLen = 64

// Keyring holds the AES-256-GCM keys by ID and names the active one, which
// encrypts; any key in it decrypts payloads carrying its ID. A Keyring is
// immutable and safe for concurrent use. It keeps no raw key bytes, only
// the ciphers built from them, and prints as its key IDs.
type Keyring struct {
	aeads  map[string]cipher.AEAD
	ids    []string // in the order given
	active string
}

// NewKeyring builds a keyring from raw 32-byte keys by ID; activeID names
// the key that encrypts and must be among them.
func NewKeyring(activeID string, keys map[string][]byte) (*Keyring, error) {
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	k := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, id := range ids {
		if err := k.add(id, keys[id]); err != nil {
			return nil, err
		}
	}
	if err := k.setActive(activeID); err != nil {
		return nil, err
	}
	return k, nil
}

// add checks the ID and key and adds the key's cipher.
func (k *Keyring) add(id string, key []byte) error {
	if err := checkKeyID(id); err != nil {
		return err
	}
	if _, dup := k.aeads[id]; dup {
		return fmt.Errorf("duplicate key ID %q", id)
	}
	if len(key) != KeySize {
		return fmt.Errorf("key %q is %d bytes; AES-256 needs %d", id, len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	k.aeads[id] = aead
	k.ids = append(k.ids, id)
	return nil
}

func (k *Keyring) setActive(id string) error {
	if len(k.aeads) == 0 {
		return errors.New("keyring has no keys")
	}
	if _, ok := k.aeads[id]; !ok {
		return fmt.Errorf("active key %q is not in the keyring (keys: %s)", id, strings.Join(k.ids, ", "))
	}
	k.active = id
	return nil
}

// checkKeyID accepts IDs of letters, digits, '.', '_' and '-'.
func checkKeyID(id string) error {
	if id == "" {
		return errors.New("empty key ID")
	}
	if len(id) > maxKeyIDLen {
		return fmt.Errorf("key ID %.16q… is longer than %d characters", id, maxKeyIDLen)
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return fmt.Errorf("key ID %q: only letters, digits, '.', '_' and '-' are allowed", id)
		}
	}
	return nil
}

// Active returns the ID of the key that encrypts.
func (k *Keyring) Active() string { return k.active }

// IDs returns the IDs of all keys, in the order they were given.
func (k *Keyring) IDs() []string { return slices.Clone(k.ids) }

// Has reports whether the keyring holds a key with this ID.
func (k *Keyring) Has(id string) bool {
	_, ok := k.aeads[id]
	return ok
}

// WithActive returns a copy of the keyring in which the key id encrypts:
// the other keys still decrypt.
func (k *Keyring) WithActive(id string) (*Keyring, error) {
	c := &Keyring{aeads: k.aeads, ids: k.ids, active: k.active}
	if err := c.setActive(id); err != nil {
		return nil, err
	}
	return c, nil
}

// String shows the key IDs and the active one, never key material.
func (k *Keyring) String() string {
	if k == nil {
		return "codec.Keyring(none)"
	}
	return fmt.Sprintf("codec.Keyring(active=%s keys=%s)", k.active, strings.Join(k.ids, ","))
}

// GoString is String, so %#v does not print the ciphers either.
func (k *Keyring) GoString() string { return k.String() }

// LogValue logs the key IDs and the active one, never key material.
func (k *Keyring) LogValue() slog.Value {
	if k == nil {
		return slog.StringValue("none")
	}
	return slog.GroupValue(slog.String("active", k.active), slog.Any("keys", k.IDs()))
}

// ParseKeys reads a keys file: one `id:base64key` line per key, optionally
// followed by the word `active`; blank lines and `#` comments (whole-line or
// trailing) are ignored. The key marked active encrypts, else the first.
// Errors name the line; name labels them (usually the file's path).
func ParseKeys(name string, r io.Reader) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	firstLine := map[string]int{}
	active, activeLine := "", 0
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 2 || (len(fields) == 2 && fields[1] != "active") {
			return nil, fmt.Errorf("%s line %d: want `id:base64key` optionally followed by `active`", name, n)
		}
		id, b64, ok := strings.Cut(fields[0], ":")
		if !ok {
			return nil, fmt.Errorf("%s line %d: no ':' between key ID and key; want `id:base64key`", name, n)
		}
		if prev, dup := firstLine[id]; dup {
			return nil, fmt.Errorf("%s line %d: duplicate key ID %q (first on line %d)", name, n, id, prev)
		}
		key, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: key %q: %w", name, n, id, err)
		}
		if err := k.add(id, key); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, n, err)
		}
		clear(key)
		firstLine[id] = n
		if len(fields) == 2 {
			if activeLine != 0 {
				return nil, fmt.Errorf("%s line %d: key %q marked active, but key %q on line %d is already active", name, n, id, active, activeLine)
			}
			active, activeLine = id, n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(k.ids) == 0 {
		return nil, fmt.Errorf("%s: no keys", name)
	}
	if active == "" {
		active = k.ids[0]
	}
	if err := k.setActive(active); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return k, nil
}

// decodeKey decodes standard base64, padded or not.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty key")
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		// Do not echo the value: it is (almost) a key.
		return nil, errors.New("not valid base64 (standard alphabet)")
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("%d bytes; AES-256 needs %d", len(b), KeySize)
	}
	return b, nil
}

// LoadKeysFile reads a keys file (see ParseKeys).
func LoadKeysFile(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("codec keys file: %w", err)
	}
	defer f.Close()
	return ParseKeys(path, f)
}

// KeyringFromEnv reads the keyring through getenv: DATASEV_CODEC_KEYS_FILE,
// else DATASEV_CODEC_KEY (+ DATASEV_CODEC_KEY_ID). ok is false when neither
// is set: payload encryption is off.
func KeyringFromEnv(getenv func(string) string) (k *Keyring, ok bool, err error) {
	file, single := strings.TrimSpace(getenv(EnvKeysFile)), strings.TrimSpace(getenv(EnvKey))
	switch {
	case file != "" && single != "":
		return nil, false, fmt.Errorf("%s and %s are both set; set one", EnvKeysFile, EnvKey)
	case file != "":
		k, err := LoadKeysFile(file)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", EnvKeysFile, err)
		}
		return k, true, nil
	case single != "":
		id := strings.TrimSpace(getenv(EnvKeyID))
		if id == "" {
			id = DefaultKeyID
		}
		key, err := decodeKey(single)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", EnvKey, err)
		}
		defer clear(key)
		k, err := NewKeyring(id, map[string][]byte{id: key})
		if err != nil {
			return nil, false, fmt.Errorf("%s/%s: %w", EnvKey, EnvKeyID, err)
		}
		return k, true, nil
	default:
		if getenv(EnvKeyID) != "" {
			return nil, false, fmt.Errorf("%s is set but %s is not", EnvKeyID, EnvKey)
		}
		return nil, false, nil
	}
}

// NewKey returns a fresh line for the keys file, `id:base64key`, with a
// random 32-byte key and an ID made of today's UTC date and random hex
// (e.g. k20260101-3fa2c1d4). Append it marked `active` to rotate.
func NewKey() (string, error) {
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", fmt.Errorf("new key ID: %w", err)
	}
	return NewKeyWithID(fmt.Sprintf("k%s-%x", time.Now().UTC().Format("20060102"), suffix))
}

// NewKeyWithID returns a keys-file line `id:base64key` with a random
// 32-byte key.
func NewKeyWithID(id string) (string, error) {
	if err := checkKeyID(id); err != nil {
		return "", fmt.Errorf("new key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("new key: %w", err)
	}
	defer clear(key)
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}
