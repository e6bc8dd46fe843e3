package incidents

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/signing"
)

// A Signer signs acts so that the incident takes them as verified: with a
// person's private key (the CLI; the act's Sig.Key is the key's
// fingerprint, which the roster lists among the person's keys), or with a
// front door's service key, vouching for an identity the front door
// verified itself (the Slack app: Sig.Key "service:slack", Sig.Claim
// "slack:U…").
//
// The private key never leaves the Signer: it is not in the act, and the
// Signer prints, logs and marshals as its public fingerprint only.
type Signer struct {
	priv    ed25519.PrivateKey
	service string // "" for a person's key
	claim   string // the identity vouched for (service signers, via For)
	now     func() time.Time
}

// NewSigner returns a signer for a person's private key.
func NewSigner(priv ed25519.PrivateKey) *Signer {
	return &Signer{priv: priv, now: time.Now}
}

// NewServiceSigner returns a signer for a front door named service (as the
// roster's trust.services names it). Its acts need a claim: use For.
func NewServiceSigner(service string, priv ed25519.PrivateKey) *Signer {
	return &Signer{priv: priv, service: service, now: time.Now}
}

// For returns a copy of a service signer that vouches for claim, the
// identity the front door verified ("slack:U…").
func (s *Signer) For(claim string) *Signer {
	c := *s
	c.claim = claim
	return &c
}

// WithClock returns a copy of the signer whose signatures carry the times
// now gives (tests; a signer's own clock is time.Now).
func (s *Signer) WithClock(now func() time.Time) *Signer {
	c := *s
	c.now = now
	return &c
}

// PublicKey returns the public key, written as the roster lists it
// ("ed25519:<base64>").
func (s *Signer) PublicKey() string {
	return signing.FormatPublicKey(s.priv.Public().(ed25519.PublicKey))
}

// Fingerprint returns the public key's fingerprint, "SHA256:…".
func (s *Signer) Fingerprint() string {
	return signing.Fingerprint(s.priv.Public().(ed25519.PublicKey))
}

// Service returns the front door's name, or "" for a person's key.
func (s *Signer) Service() string { return s.service }

// KeyName is what the signer's acts carry as Sig.Key: the fingerprint, or
// "service:<name>".
func (s *Signer) KeyName() string {
	if s.service != "" {
		return "service:" + s.service
	}
	return s.Fingerprint()
}

// String names the signer by its public fingerprint; the private key is
// never printed.
func (s *Signer) String() string {
	if s == nil {
		return "no signer"
	}
	if s.service != "" {
		return "service " + s.service + " key " + s.Fingerprint()
	}
	return "key " + s.Fingerprint()
}

// GoString is String, so %#v prints no key material either.
func (s *Signer) GoString() string { return s.String() }

// LogValue is String, for slog.
func (s *Signer) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText is String, so a signer that ends up in JSON or YAML carries
// no key material.
func (s *Signer) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Sign signs act as the act named actName on the incident with workflow ID
// workflowID: it fills act.ID when empty (a signed act must have one, so
// that it is applied once) and sets act.Sig, signed now. Every other field
// must be final: the signature covers them all.
func (s *Signer) Sign(workflowID, actName string, act *workflows.Act) error {
	if s == nil || s.priv == nil {
		return errors.New("no signing key")
	}
	if s.service != "" && s.claim == "" {
		return fmt.Errorf("service %s signs acts for someone it verified: no claim given", s.service)
	}
	if act.ID == "" {
		act.ID = uuid.NewString()
	}
	act.Sig = &workflows.Signature{Key: s.KeyName(), Claim: s.claim, At: s.now().UTC().Truncate(time.Millisecond)}
	act.Sig.Value = signing.Sign(s.priv, act.SigningBytes(workflowID, actName))
	return nil
}

// ActSigned is Act with the act signed by s first; a nil s sends it as
// given (unsigned, unless it already carries a signature).
func ActSigned(ctx context.Context, c client.Client, s *Signer, workflowID, actName string, act workflows.Act) (workflows.ActResult, error) {
	if err := checkAct(actName, &act); err != nil {
		return workflows.ActResult{}, err
	}
	if s != nil {
		if err := s.Sign(workflowID, actName, &act); err != nil {
			return workflows.ActResult{}, err
		}
	}
	return Act(ctx, c, workflowID, actName, act)
}

// SignalSigned is Signal with the act signed by s first; a nil s sends it
// as given.
func SignalSigned(ctx context.Context, c client.Client, s *Signer, workflowID, actName string, act workflows.Act) error {
	if err := checkAct(actName, &act); err != nil {
		return err
	}
	if s != nil {
		if err := s.Sign(workflowID, actName, &act); err != nil {
			return err
		}
	}
	return Signal(ctx, c, workflowID, actName, act)
}

// pemType is the PEM block type of a private key file: PKCS#8, as
// `openssl genpkey -algorithm ed25519` writes it too.
const pemType = "PRIVATE KEY"

// KeyFileError is a private key file that cannot be used; Path names it.
type KeyFileError struct {
	Path string
	Err  error
}

func (e *KeyFileError) Error() string { return fmt.Sprintf("key file %s: %v", e.Path, e.Err) }

func (e *KeyFileError) Unwrap() error { return e.Err }

// LoadSigner reads a person's private key file (PKCS#8 PEM, ed25519, as
// GenerateKeyFile writes it). Like ssh, it refuses a file that its group
// or others may read or write: a key others can read proves nothing.
func LoadSigner(path string) (*Signer, error) {
	priv, err := loadKey(path)
	if err != nil {
		return nil, err
	}
	return NewSigner(priv), nil
}

// LoadServiceSigner reads a front door's private key file, with the checks
// of LoadSigner.
func LoadServiceSigner(service, path string) (*Signer, error) {
	priv, err := loadKey(path)
	if err != nil {
		return nil, err
	}
	return NewServiceSigner(service, priv), nil
}

func loadKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &KeyFileError{Path: path, Err: unwrapPath(err)}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, &KeyFileError{Path: path, Err: unwrapPath(err)}
	}
	if !info.Mode().IsRegular() {
		return nil, &KeyFileError{Path: path, Err: errors.New("not a regular file")}
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, &KeyFileError{Path: path, Err: fmt.Errorf("permissions %04o are too open: a private key must not be accessible by others; run chmod 600 %s", perm, path)}
	}
	if info.Size() > 64<<10 {
		return nil, &KeyFileError{Path: path, Err: fmt.Errorf("%d bytes is too large for a key file", info.Size())}
	}
	b := make([]byte, info.Size())
	if _, err := f.ReadAt(b, 0); err != nil && info.Size() > 0 {
		return nil, &KeyFileError{Path: path, Err: unwrapPath(err)}
	}
	priv, err := ParsePrivateKey(b)
	if err != nil {
		return nil, &KeyFileError{Path: path, Err: err}
	}
	return priv, nil
}

// ParsePrivateKey reads an ed25519 private key from PKCS#8 PEM.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block: want an ed25519 private key in PKCS#8 PEM (datasev keygen writes one)")
	}
	if block.Type != pemType {
		return nil, fmt.Errorf("PEM block %q: want %q, an ed25519 private key in PKCS#8 (datasev keygen writes one)", block.Type, pemType)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKCS#8 private key")
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an ed25519 key", k)
	}
	return priv, nil
}

// MarshalPrivateKey writes priv as PKCS#8 PEM.
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), nil
}

// GenerateKeyFile makes a new ed25519 key and writes it to path, mode
// 0600 (its directory, when missing, 0700). It refuses to overwrite a file
// that exists: a key replaced by mistake cannot be recovered.
func GenerateKeyFile(path string) (*Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := WriteKeyFile(path, priv); err != nil {
		return nil, err
	}
	return NewSigner(priv), nil
}

// WriteKeyFile writes priv to path as GenerateKeyFile does, refusing to
// overwrite.
func WriteKeyFile(path string, priv ed25519.PrivateKey) error {
	b, err := MarshalPrivateKey(priv)
	if err != nil {
		return &KeyFileError{Path: path, Err: err}
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return &KeyFileError{Path: path, Err: unwrapPath(err)}
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return &KeyFileError{Path: path, Err: errors.New("exists; not overwriting it (move it away first, or pick another file with --out)")}
	}
	if err != nil {
		return &KeyFileError{Path: path, Err: unwrapPath(err)}
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return &KeyFileError{Path: path, Err: err}
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return &KeyFileError{Path: path, Err: err}
	}
	return nil
}

// unwrapPath drops the *PathError wrapper, whose text repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// IsUnsignedRefusal reports whether err is the incident refusing an act
// because it carried no signature, so a front door can add how to sign.
func IsUnsignedRefusal(err error) bool {
	var rej *RejectedError
	return errors.As(err, &rej) && strings.Contains(rej.Message, "needs a verified identity and this one is unsigned")
}
