package statuspage

import (
	"context"

	"go.temporal.io/sdk/activity"
)

// Activities is the status page's activity group, for
// worker.RegisterActivity: it registers exactly StatuspagePublish and
// StatuspageResolve (the Client's other exported methods are not meant to
// be activities). The workflow runs them only after the Liaison or the
// Commander approved the public wording.
type Activities struct {
	// Client is the status page client; nil or unconfigured makes both
	// activities fail, non-retryably, as not configured.
	Client *Client
}

// ResolveRequest names the incident whose public incident is resolved.
type ResolveRequest struct {
	// Incident is the datasev incident's workflow ID. Required.
	Incident string `json:"incident"`
	// Body is the closing public update. Optional.
	Body string `json:"body,omitempty"`
}

// StatuspagePublish runs Client.Publish.
func (a *Activities) StatuspagePublish(ctx context.Context, req PublishRequest) (PublishResult, error) {
	res, err := a.Client.Publish(ctx, req)
	if err == nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Info("status page published", "incident", req.Incident, "id", res.ID,
			"created", res.Created, "status", res.Status)
	}
	return res, err
}

// StatuspageResolve runs Client.Resolve.
func (a *Activities) StatuspageResolve(ctx context.Context, req ResolveRequest) (PublishResult, error) {
	res, err := a.Client.Resolve(ctx, req.Incident, req.Body)
	if err == nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Info("status page resolved", "incident", req.Incident, "id", res.ID)
	}
	return res, err
}
