package e2e

import (
	"context"
	"crypto/ed25519"
	"sync"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// The end-to-end tests act as production's front doors do: people sign
// their acts with their own keys (the CLI), the Slack app with its service
// key; the roster lists them and keeps the default trust policy.
var (
	signers   sync.Map // person → *incidents.Signer
	appSigner = incidents.NewServiceSigner(slackapp.ServiceName, newKey())
)

func newKey() ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	return k
}

// signerOf returns the person's signer, made once per run.
func signerOf(person string) *incidents.Signer {
	s, _ := signers.LoadOrStore(person, incidents.NewSigner(newKey()))
	return s.(*incidents.Signer)
}

// withKeys lists every person's key and the Slack app's in r.
func withKeys(r oncall.Roster) oncall.Roster {
	for i, p := range r.People {
		r.People[i].Keys = []string{signerOf(p.ID).PublicKey()}
	}
	r.Trust.Services = []oncall.Service{{Name: slackapp.ServiceName, Key: appSigner.PublicKey(), Claims: []string{"slack"}}}
	return r
}

// signedAct sends an act signed with its author's key, as the CLI does.
func signedAct(ctx context.Context, c client.Client, id, name string, act workflows.Act) (workflows.ActResult, error) {
	return incidents.ActSigned(ctx, c, signerOf(act.By), id, name, act)
}
