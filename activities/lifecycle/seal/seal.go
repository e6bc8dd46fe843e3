// Package seal signs and checks the messages an incident and its runbook
// send each other (approval decisions one way, runbook events the other).
// Temporal does not tell a workflow who sent a signal, so anyone who can
// reach the namespace could send those signals; a seal is an HMAC-SHA256
// under a key only the workers hold, so a forged message is refused.
//
// The workflows call Seal and Check as local activities: the key never
// enters workflow code or history, and the recorded results replay.
package seal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/datasev/datasev/workflows"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
)

// KeySize is the size of a sealing key in bytes.
const KeySize = 32

// Activities seal and check messages with the workers' shared key.
type Activities struct {
	key []byte
}

// New returns the activities for a key of at least KeySize bytes.
func New(key []byte) (*Activities, error) {
	if len(key) < KeySize {
		return nil, fmt.Errorf("sealing key: %d bytes, need at least %d", len(key), KeySize)
	}
	return &Activities{key: append([]byte(nil), key...)}, nil
}

// Seal seals a message.
func (a *Activities) Seal(_ context.Context, req workflows.SealRequest) (workflows.Sealed, error) {
	return workflows.Sealed{MAC: base64.StdEncoding.EncodeToString(a.mac(req.Message))}, nil
}

// Check reports whether mac seals the message.
func (a *Activities) Check(_ context.Context, req workflows.CheckSealRequest) (workflows.SealChecked, error) {
	got, err := base64.StdEncoding.DecodeString(req.MAC)
	if err != nil {
		return workflows.SealChecked{}, nil
	}
	return workflows.SealChecked{OK: hmac.Equal(got, a.mac(req.Message))}, nil
}

func (a *Activities) mac(msg []byte) []byte {
	h := hmac.New(sha256.New, a.key)
	h.Write(msg)
	return h.Sum(nil)
}

// LoadKey reads a sealing key file: 64 hex characters (what CreateKey
// writes). Every worker of a deployment must read the same key.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("sealing key %s: not hex: %w", path, err)
	}
	if len(key) < KeySize {
		return nil, fmt.Errorf("sealing key %s: %d bytes, need at least %d", path, len(key), KeySize)
	}
	return key, nil
}

// LoadOrCreateKey reads the key file, or creates it with a new random key
// (mode 0600, its directory 0700) when it does not exist: right for one
// worker, or several sharing the file.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := LoadKey(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	// Written aside, then linked into place: a worker starting beside this
	// one reads either no file or the whole key, and the first link wins.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sealing-key-*")
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return LoadKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	return key, nil
}

// Register registers a's Seal and Check with r under the names the
// workflows call them by (workflows.SealActivity, workflows.CheckSealActivity).
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.Seal, activity.RegisterOptions{Name: workflows.SealActivity})
	r.RegisterActivityWithOptions(a.Check, activity.RegisterOptions{Name: workflows.CheckSealActivity})
}
