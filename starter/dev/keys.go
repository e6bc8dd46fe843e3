package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/workflows/oncall"
)

// devKeys are the dev demo's signing keys: one per roster person (the demo
// acts as them, as the CLI would with their key files), the Slack app's
// service key and the intake's PagerDuty service key (it signs the
// acknowledgements made in PagerDuty). They are made on the first run
// under <state>/dev/keys (0600, the directory 0700) and kept, so the
// printed CLI hints stay good across runs; the roster dev runs with lists
// their public keys.
type devKeys struct {
	dir    string
	people map[string]*incidents.Signer
	slack  *incidents.Signer
	// pagerduty is the intake's key for the acts it takes from PagerDuty's
	// webhooks, as service "pagerduty".
	pagerduty *incidents.Signer
	// roster is the dev roster: the loaded one with the demo's keys, a
	// PagerDuty user ID for every person without one, and the Slack app's
	// and the intake's PagerDuty services added, written to rosterFile for
	// the CLI.
	roster     oncall.Roster
	rosterFile string
}

// setupDevKeys loads or makes the keys under dir and returns them with the
// roster that trusts them.
func setupDevKeys(dir string, r oncall.Roster) (*devKeys, error) {
	k := &devKeys{dir: dir, people: map[string]*incidents.Signer{}}
	keysDir := filepath.Join(dir, "keys")
	r.People = slices.Clone(r.People)
	for i, p := range r.People {
		s, err := loadOrMakeKey(filepath.Join(keysDir, p.ID+".pem"), incidents.LoadSigner)
		if err != nil {
			return nil, err
		}
		k.people[p.ID] = s
		if !slices.Contains(p.Keys, s.PublicKey()) {
			r.People[i].Keys = append(slices.Clone(p.Keys), s.PublicKey())
		}
	}
	app, err := loadOrMakeKey(filepath.Join(keysDir, "slack-app.pem"), func(path string) (*incidents.Signer, error) {
		return incidents.LoadServiceSigner(slackapp.ServiceName, path)
	})
	if err != nil {
		return nil, err
	}
	k.slack = app
	pd, err := loadOrMakeKey(filepath.Join(keysDir, pagerDutyKeyFile), func(path string) (*incidents.Signer, error) {
		return incidents.LoadServiceSigner(intake.PagerDutyServiceName, path)
	})
	if err != nil {
		return nil, err
	}
	k.pagerduty = pd
	r.Trust.Services = slices.DeleteFunc(slices.Clone(r.Trust.Services), func(s oncall.Service) bool {
		return s.Name == slackapp.ServiceName || s.Name == intake.PagerDutyServiceName
	})
	r.Trust.Services = append(r.Trust.Services,
		oncall.Service{Name: slackapp.ServiceName, Key: app.PublicKey(), Claims: []string{"slack"}},
		oncall.Service{Name: intake.PagerDutyServiceName, Key: pd.PublicKey(), Claims: []string{"pagerduty"}})
	addDevPagerDutyIDs(r.People)
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("dev roster with the demo's keys: %w", err)
	}
	k.roster = r
	// The roster as dev runs it, for the datasev CLI in another shell
	// (DATASEV_ROSTER) and for the worker: JSON is YAML.
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	k.rosterFile = filepath.Join(dir, "roster.yaml")
	body := append([]byte("# The roster `go run ./starter/dev` runs with: the demo's keys (under keys/), the Slack app's and the intake's PagerDuty service added.\n"), b...)
	if err := os.WriteFile(k.rosterFile, append(body, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("dev roster: %w", err)
	}
	return k, nil
}

// pagerDutyKeyFile is the intake's PagerDuty service key under keys/,
// beside the Slack app's slack-app.pem.
const pagerDutyKeyFile = "pagerduty-intake.pem"

// addDevPagerDutyIDs gives every person without a PagerDuty user ID one
// for the stand-in ("PDEV" and their ID's letters and digits, upper case),
// unless another person already has it: the demo acknowledges in PagerDuty
// as the Commander, whatever roster dev runs with. people is changed in
// place (setupDevKeys passes its own clone).
func addDevPagerDutyIDs(people []oncall.Person) {
	taken := map[string]bool{}
	for _, p := range people {
		if p.PagerDuty != "" {
			taken[p.PagerDuty] = true
		}
	}
	for i, p := range people {
		if p.PagerDuty != "" {
			continue
		}
		id := []byte("PDEV")
		for _, c := range strings.ToUpper(p.ID) {
			if len(id) < 32 && ('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				id = append(id, byte(c))
			}
		}
		if len(id) == len("PDEV") || taken[string(id)] {
			continue
		}
		taken[string(id)] = true
		people[i].PagerDuty = string(id)
	}
}

// loadOrMakeKey loads the key file, or makes it when it does not exist.
func loadOrMakeKey(path string, load func(string) (*incidents.Signer, error)) (*incidents.Signer, error) {
	s, err := load(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if _, err := incidents.GenerateKeyFile(path); err != nil {
		return nil, err
	}
	return load(path)
}

// signer returns the person's signer (nil for someone not on the roster:
// their acts go unsigned).
func (k *devKeys) signer(person string) *incidents.Signer {
	if k == nil {
		return nil
	}
	return k.people[person]
}

// keyFile is the person's key file, for the printed hints.
func (k *devKeys) keyFile(person string) string {
	return filepath.Join(k.dir, "keys", person+".pem")
}
