package statuspage

import (
	"context"

	"github.com/datasev/datasev/workflows"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
)

// Activities is the status page's activity group, registered by Register. The workflow runs them only after the Liaison or the
// Commander approved the public wording.
type Activities struct {
	// Client is the status page client; nil or unconfigured makes both
	// activities fail, non-retryably, as not configured.
	Client *Client
}

// Register registers a's StatuspagePublish and StatuspageResolve with r
// under the names the incident workflow calls them by.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.StatuspagePublish, activity.RegisterOptions{Name: workflows.StatuspagePublishActivity})
	r.RegisterActivityWithOptions(a.StatuspageResolve, activity.RegisterOptions{Name: workflows.StatuspageResolveActivity})
}

// StatuspagePublish runs Client.Publish.
func (a *Activities) StatuspagePublish(ctx context.Context, req workflows.StatuspagePublishRequest) (workflows.StatuspageResult, error) {
	res, err := a.Client.Publish(ctx, req)
	if err == nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Info("status page published", "incident", req.Incident, "id", res.ID,
			"created", res.Created, "status", res.Status)
	}
	return res, err
}

// StatuspageResolve runs Client.Resolve.
func (a *Activities) StatuspageResolve(ctx context.Context, req workflows.StatuspageResolveRequest) (workflows.StatuspageResult, error) {
	res, err := a.Client.Resolve(ctx, req.Incident, req.Body)
	if err == nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Info("status page resolved", "incident", req.Incident, "id", res.ID)
	}
	return res, err
}
