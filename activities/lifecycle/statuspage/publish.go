package statuspage

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/datasev/datasev/workflows"
	"go.temporal.io/sdk/temporal"
)

// MetadataKey is the top-level metadata key under which a public incident
// records the datasev incident it belongs to: {"datasev": {"incident": id}}.
const MetadataKey = "datasev"

// Output returns a result as a JSON-friendly map, for runbook expressions.
func Output(r workflows.StatuspageResult) map[string]any {
	return map[string]any{"id": r.ID, "url": r.URL, "created": r.Created, "status": r.Status, "updates": r.Updates}
}

func bad(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError("statuspage: "+fmt.Sprintf(format, args...), BadRequestType, nil)
}

// Publish puts the approved wording on the status page: it updates the
// public incident it created earlier for req.Incident (found by its
// metadata among the unresolved incidents) or creates one. It is
// idempotent: retried, it updates the same incident.
func (c *Client) Publish(ctx context.Context, req workflows.StatuspagePublishRequest) (workflows.StatuspageResult, error) {
	if err := c.ready(); err != nil {
		return workflows.StatuspageResult{}, err
	}
	if strings.TrimSpace(req.Incident) == "" {
		return workflows.StatuspageResult{}, bad("publish: no incident")
	}
	if !slices.Contains(IncidentStatuses, req.Status) {
		return workflows.StatuspageResult{}, bad("publish %s: status %q: want one of %s", req.Incident, req.Status, strings.Join(IncidentStatuses, ", "))
	}
	components, err := c.componentStatuses(req.Incident, req.Components)
	if err != nil {
		return workflows.StatuspageResult{}, err
	}
	in := IncidentInput{
		Name:       strings.TrimSpace(req.Name),
		Status:     req.Status,
		Body:       req.Body,
		Components: components,
	}
	if len(components) > 0 {
		in.ComponentIDs = sortedKeys(components)
	}
	if req.Silent {
		f := false
		in.DeliverNotifications = &f
	}
	existing, found, err := c.find(ctx, req.Incident)
	if err != nil {
		return workflows.StatuspageResult{}, err
	}
	if found {
		inc, err := c.UpdateIncident(ctx, existing.ID, in)
		if err != nil {
			return workflows.StatuspageResult{}, err
		}
		return result(inc, false), nil
	}
	if in.Name == "" {
		return workflows.StatuspageResult{}, bad("publish %s: a new public incident needs a name", req.Incident)
	}
	in.Metadata = map[string]map[string]any{MetadataKey: {"incident": req.Incident}}
	inc, err := c.CreateIncident(ctx, in)
	if err != nil {
		return workflows.StatuspageResult{}, err
	}
	return result(inc, true), nil
}

// Resolve resolves the public incident of incident with body as the last
// update, and sets its components back to operational. With no unresolved
// public incident for it (never published, or already resolved by an
// earlier try) it does nothing and returns an empty ID.
func (c *Client) Resolve(ctx context.Context, incident, body string) (workflows.StatuspageResult, error) {
	if err := c.ready(); err != nil {
		return workflows.StatuspageResult{}, err
	}
	if strings.TrimSpace(incident) == "" {
		return workflows.StatuspageResult{}, bad("resolve: no incident")
	}
	existing, found, err := c.find(ctx, incident)
	if err != nil || !found {
		return workflows.StatuspageResult{}, err
	}
	in := IncidentInput{Status: Resolved, Body: body}
	if len(existing.Components) > 0 {
		in.Components = map[string]string{}
		for _, comp := range existing.Components {
			in.Components[comp.ID] = Operational
		}
		in.ComponentIDs = sortedKeys(in.Components)
	}
	inc, err := c.UpdateIncident(ctx, existing.ID, in)
	if err != nil {
		return workflows.StatuspageResult{}, err
	}
	return result(inc, false), nil
}

// SetComponent sets the status of a service's component (or of a
// component ID) outside any incident.
func (c *Client) SetComponent(ctx context.Context, service, status string) (Component, error) {
	if err := c.ready(); err != nil {
		return Component{}, err
	}
	m, err := c.componentStatuses("", map[string]string{service: status})
	if err != nil {
		return Component{}, err
	}
	for id, st := range m {
		return c.UpdateComponent(ctx, id, st)
	}
	return Component{}, bad("no component for %q", service)
}

// find returns the unresolved public incident created for incident.
func (c *Client) find(ctx context.Context, incident string) (Incident, bool, error) {
	open, err := c.UnresolvedIncidents(ctx)
	if err != nil {
		return Incident{}, false, err
	}
	for _, inc := range open {
		m, _ := inc.Metadata[MetadataKey].(map[string]any)
		if v, ok := m["incident"].(string); ok && v == incident {
			return inc, true, nil
		}
	}
	return Incident{}, false, nil
}

// componentStatuses maps services to component IDs and checks statuses.
func (c *Client) componentStatuses(incident string, in map[string]string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	for key, status := range in {
		if !slices.Contains(ComponentStatuses, status) {
			return nil, bad("%s: component %q status %q: want one of %s", incident, key, status, strings.Join(ComponentStatuses, ", "))
		}
		id := key
		if mapped, ok := c.cfg.Components[key]; ok {
			id = mapped
		}
		if strings.TrimSpace(id) == "" {
			return nil, bad("%s: empty component", incident)
		}
		out[id] = status
	}
	return out, nil
}

func result(inc Incident, created bool) workflows.StatuspageResult {
	return workflows.StatuspageResult{ID: inc.ID, URL: inc.Shortlink, Created: created, Status: inc.Status, Updates: len(inc.IncidentUpdates)}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
