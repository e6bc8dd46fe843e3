package slackapp

import (
	"context"
	"fmt"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// ServiceName is the name the Slack app signs acts as ("service:slack"),
// and the name the roster's trust.services lists its key under.
const ServiceName = "slack"

// ClaimPrefix starts the identity the app vouches for: "slack:" and the
// Slack user ID it verified.
const ClaimPrefix = "slack:"

// setupSigner picks the app's signer (deps.Signer, else cfg.KeyFile) and
// says at startup what the incidents will make of its acts: a key the
// roster does not list, or no key at all, means deciding acts from Slack
// are refused.
func (h *Handler) setupSigner(cfg Config, deps Deps) error {
	switch {
	case deps.Signer != nil:
		h.signer = deps.Signer
	case cfg.KeyFile != "":
		s, err := incidents.LoadServiceSigner(ServiceName, cfg.KeyFile)
		if err != nil {
			return fmt.Errorf("slackapp: %s: %w", EnvKeyFile, err)
		}
		h.signer = s
	}
	svc, listed := h.roster.Trust.ServiceByName(ServiceName)
	switch {
	case h.signer == nil:
		h.log.Warn("slack: no signing key: the incidents refuse deciding acts from Slack (ack, approve, resolve, ...) until " + EnvKeyFile + " names the app's key and the roster lists it under trust.services; notes and closure inputs still work")
	case h.signer.Service() != ServiceName:
		return fmt.Errorf("slackapp: the signer is %s, not service %s", h.signer, ServiceName)
	case !listed:
		h.log.Warn("slack: the roster does not list the app's key: the incidents refuse deciding acts from Slack until it does",
			"add_to_roster", fmt.Sprintf("trust: {services: [{name: %s, key: %s, claims: [slack]}]}", ServiceName, h.signer.PublicKey()))
	case svc.Key != h.signer.PublicKey():
		h.log.Warn("slack: the roster lists another key for the app: the incidents refuse its deciding acts until the two match",
			"roster_key", svc.Key, "app_key", h.signer.PublicKey(), "fingerprint", h.signer.Fingerprint())
	default:
		h.log.Info("slack: acts are signed as service "+ServiceName, "fingerprint", h.signer.Fingerprint())
	}
	return nil
}

// act sends an act for the person the Slack user slackUser was verified
// as, signed by the app vouching for that user.
func (h *Handler) act(ctx context.Context, slackUser, id, name string, act workflows.Act) (workflows.ActResult, error) {
	var s *incidents.Signer
	if h.signer != nil {
		s = h.signer.For(ClaimPrefix + slackUser)
	}
	res, err := incidents.ActSigned(ctx, h.c, s, id, name, act)
	if err != nil && s == nil && incidents.IsUnsignedRefusal(err) {
		return res, &incidents.RejectedError{Message: fmt.Sprintf("%s from Slack needs the datasev Slack app's signing key, which is not configured: ask your admin to set %s and list the app's key in the roster; meanwhile use the datasev CLI with your own key", name, EnvKeyFile)}
	}
	return res, err
}
