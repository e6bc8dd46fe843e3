package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/datasev/datasev/starter/incidents"
)

// EnvKeyFile names the variable holding the path of the private key the
// CLI signs acts with (key_file in the configuration file's worker
// section). Unset: DefaultKeyFile, when it exists.
const EnvKeyFile = "DATASEV_KEY_FILE"

const keygenUsage = "[--out FILE]"

// DefaultKeyFile is where keygen writes and the CLI looks for the key when
// neither --key nor DATASEV_KEY_FILE names one: datasev/key.pem under
// $XDG_CONFIG_HOME, else under $HOME/.config. Empty when neither is set.
func DefaultKeyFile(getenv func(string) string) string {
	if d := strings.TrimSpace(getenv("XDG_CONFIG_HOME")); d != "" {
		return filepath.Join(d, "datasev", "key.pem")
	}
	if h := strings.TrimSpace(getenv("HOME")); h != "" {
		return filepath.Join(h, ".config", "datasev", "key.pem")
	}
	return ""
}

// keyFile picks the key file: the flag, DATASEV_KEY_FILE, or the default
// when it exists. explicit says whether the user named it (a missing named
// file is an error; a missing default means no key).
func keyFile(e *env, flagValue string) (path string, explicit bool) {
	if p := strings.TrimSpace(flagValue); p != "" {
		return p, true
	}
	if p := strings.TrimSpace(e.getenv(EnvKeyFile)); p != "" {
		return p, true
	}
	if p := DefaultKeyFile(e.getenv); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, false
		}
	}
	return "", false
}

// loadSigner loads the signer the act commands sign with; nil when no key
// is configured (acts go unsigned, and the incident takes only the kinds
// its roster allows unsigned).
func loadSigner(e *env, flagValue string) (*incidents.Signer, error) {
	p, _ := keyFile(e, flagValue)
	if p == "" {
		return nil, nil
	}
	s, err := incidents.LoadSigner(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (make one with `datasev keygen --out %s`)", err, p)
		}
		return nil, err
	}
	return s, nil
}

// runKeygen writes a new private key and prints the public key line for
// the roster.
func runKeygen(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keygen", keygenUsage)
	var out string
	def := DefaultKeyFile(e.getenv)
	if p := strings.TrimSpace(e.getenv(EnvKeyFile)); p != "" {
		def = p
	}
	fs.StringVar(&out, "out", "", "where to write the private key (default $"+EnvKeyFile+", else "+orText(def, "$HOME/.config/datasev/key.pem")+")")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if out == "" {
		out = def
	}
	if out == "" {
		return usagef("keygen: no HOME to write under; pass --out FILE")
	}
	s, err := incidents.GenerateKeyFile(out)
	if err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "private key written to %s (mode 0600; keep it to yourself)\n", out)
	fmt.Fprintf(w, "fingerprint %s\n", s.Fingerprint())
	fmt.Fprintln(w, "add the public key to your entry in the roster:")
	fmt.Fprintf(w, "    keys: [\"%s\"]\n", s.PublicKey())
	if out != DefaultKeyFile(e.getenv) && out != strings.TrimSpace(e.getenv(EnvKeyFile)) {
		fmt.Fprintf(w, "and point the CLI at the key: export %s=%s (or key_file under worker: in the config file, or --key)\n", EnvKeyFile, out)
	}
	return nil
}

// keyCheck is `config check`'s line on the signing key.
func keyCheck(getenv func(string) string) checkLine {
	e := &env{getenv: getenv}
	p, explicit := keyFile(e, "")
	if p == "" {
		return checkLine{"key", checkOff, fmt.Sprintf("acts go unsigned, and the incident refuses deciding acts unless the roster allows them; make a key with `datasev keygen` and set %s", EnvKeyFile)}
	}
	s, err := incidents.LoadSigner(p)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return checkLine{"key", checkOff, "no key"}
		}
		return checkLine{"key", checkError, err.Error()}
	}
	return checkLine{"key", checkOK, fmt.Sprintf("acts signed with %s (%s); the roster lists it as %s", p, s.Fingerprint(), s.PublicKey())}
}
