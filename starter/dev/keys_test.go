package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/workflows/oncall"
)

// The dev demo's keys: one per person and the Slack app's, 0600, kept
// across runs; the roster dev writes for the CLI is the one it runs with.
func TestDevKeys(t *testing.T) {
	r, err := oncall.Load(filepath.Join("..", "..", "runbooks", "roster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k, err := setupDevKeys(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range k.roster.People {
		s := k.signer(p.ID)
		if s == nil || len(p.Keys) != 1 || p.Keys[0] != s.PublicKey() {
			t.Errorf("%s: keys %v, signer %v", p.ID, p.Keys, s)
		}
		info, err := os.Stat(k.keyFile(p.ID))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s's key file: %v %v", p.ID, info, err)
		}
	}
	svc, ok := k.roster.Trust.ServiceByName(slackapp.ServiceName)
	if !ok || svc.Key != k.slack.PublicKey() || k.slack.Service() != slackapp.ServiceName {
		t.Errorf("slack service %+v, app signer %v", svc, k.slack)
	}
	if r.People[0].Keys != nil {
		t.Error("setupDevKeys changed the loaded roster")
	}
	written, err := oncall.Load(k.rosterFile)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(written, k.roster) {
		t.Errorf("written roster differs:\n%+v\n%+v", written, k.roster)
	}
	again, err := setupDevKeys(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.roster, k.roster) {
		t.Error("a second run made new keys")
	}
}
