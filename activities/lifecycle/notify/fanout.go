package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/datasev/datasev/workflows"
	"go.temporal.io/sdk/activity"
)

// Fanout is a Backend that delivers every notification to several
// backends, e.g. the log and Slack. It tries them all, in order, and
// returns their errors: a single failing backend's error as it is (so a
// typed, non-retryable or rate-limited error keeps its type), several
// joined. Inside an activity it records the backends that delivered in
// the attempt's heartbeat details, which Temporal hands to the next
// attempt: a retry delivers only to the backends that failed, so one
// failing backend does not make the others repeat themselves (a second
// email to leadership, a second line in the log).
type Fanout []Backend

// NewFanout returns a Fanout of the non-nil backends.
func NewFanout(backends ...Backend) Fanout {
	var f Fanout
	for _, b := range backends {
		if b != nil {
			f = append(f, b)
		}
	}
	return f
}

// Name joins the backends' names with "+", e.g. "log+slack".
func (f Fanout) Name() string {
	names := make([]string, len(f))
	for i, b := range f {
		names[i] = b.Name()
	}
	return strings.Join(names, "+")
}

// Deliver delivers n to every backend, then returns what failed.
func (f Fanout) Deliver(ctx context.Context, n workflows.Notification) error {
	if len(f) == 0 {
		return errors.New("fanout: no backends")
	}
	inActivity := activity.IsActivity(ctx)
	var delivered []string
	if inActivity && activity.HasHeartbeatDetails(ctx) {
		// A retry: what the earlier attempts delivered. Unreadable
		// details deliver to every backend again, as before.
		_ = activity.GetHeartbeatDetails(ctx, &delivered)
	}
	var errs []error
	for _, b := range f {
		if slices.Contains(delivered, b.Name()) {
			continue
		}
		if err := b.Deliver(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.Name(), err))
			continue
		}
		delivered = append(delivered, b.Name())
		if inActivity {
			activity.RecordHeartbeat(ctx, delivered)
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return unwrapOnce(errs[0])
	default:
		return errors.Join(errs...)
	}
}

// unwrapOnce returns the backend's own error, whose type Temporal reads
// at the top level.
func unwrapOnce(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}
