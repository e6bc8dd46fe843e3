package jira

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/datasev/datasev/workflows"
)

// Labels are the labels every filed action item gets, beside its own
// (ItemLabel).
var Labels = []string{"incident", "action-item"}

// maxSummary bounds an issue's summary (Jira refuses more than 255).
const maxSummary = 250

// ItemLabel is the label that names one action item of one incident
// occurrence (Report.Key and the item's position): the filing's
// idempotency key. It is a hash, so people's text never reaches JQL.
func ItemLabel(r workflows.Report, n int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00action-item-%d", r.Key(), n)))
	return "datasev-" + hex.EncodeToString(sum[:10])
}

// Filer files action items as issues in the configured project.
type Filer struct {
	Client *Client
}

// FileActionItems files every action item of the report that has no issue
// yet and returns each item's issue URL by position ("" where none), the
// contract of workflows.ActionItemsActivityName. Each issue carries
// ItemLabel: before creating one the filer looks for it, and it records the
// keys it created in the activity's heartbeat, so a retry after a lost
// answer or a worker crash resumes instead of filing again (the heartbeat
// covers the seconds in which Jira's search index does not yet show a new
// issue).
func (f *Filer) FileActionItems(ctx context.Context, r workflows.Report) ([]string, error) {
	urls := make([]string, len(r.Closure.ActionItems))
	filed := map[int]string{}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &filed)
	}
	for n, item := range r.Closure.ActionItems {
		if item.Issue != "" {
			urls[n] = item.Issue
			continue
		}
		if key, ok := filed[n+1]; ok && validIssueKey(key) {
			urls[n] = f.Client.browse(key)
			continue
		}
		label := ItemLabel(r, n+1)
		found, ok, err := f.Client.FindByLabel(ctx, label)
		if err != nil {
			return nil, fmt.Errorf("file action item %d of %s in Jira: look for %s: %w", n+1, r.ID, label, err)
		}
		if !ok {
			found, err = f.Client.Create(ctx, summary(item.Text), description(r, item), append(append([]string(nil), Labels...), label))
			if err != nil {
				return nil, fmt.Errorf("file action item %d of %s in Jira: %w", n+1, r.ID, err)
			}
		}
		urls[n] = found.URL
		filed[n+1] = found.Key
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, filed)
		}
	}
	return urls, nil
}

// summary is the item's text on one line, bounded.
func summary(text string) string {
	s := strings.Join(strings.Fields(text), " ")
	if s == "" {
		s = "action item"
	}
	if r := []rune(s); len(r) > maxSummary {
		s = string(r[:maxSummary-1]) + "…"
	}
	return s
}

// description says where the item comes from. It is plain text inside an
// Atlassian Document Format body, so people's text cannot carry markup.
func description(r workflows.Report, item workflows.ActionItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Action item from incident %s (%s, %s): %s\n", r.ID, r.Severity, r.Title, item.Text)
	if item.Owner != "" {
		fmt.Fprintf(&b, "Owner: %s\n", item.Owner)
	}
	fmt.Fprintf(&b, "Added by %s. The postmortem lists it with this issue.\n", item.By)
	return b.String()
}

// State reads the state of an action item's issue from its URL: done when
// its status is in Jira's "done" category. ok is false when the URL is not
// an issue of this site.
func (f *Filer) State(ctx context.Context, issueURL string) (done bool, status string, ok bool, err error) {
	key := f.Client.KeyFromURL(issueURL)
	if key == "" {
		return false, "", false, nil
	}
	is, err := f.Client.Get(ctx, key)
	if err != nil {
		return false, "", true, fmt.Errorf("read %s: %w", key, err)
	}
	return is.Done, is.Status, true, nil
}
