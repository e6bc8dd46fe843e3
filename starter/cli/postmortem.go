package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// postmortemUsage is the postmortem command's arguments.
const postmortemUsage = "ID [--out FILE]"

// runPostmortem prints (or writes to --out) the postmortem of an incident,
// rendered from its report query: the final one for a closed incident, a
// draft for an open one.
func runPostmortem(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "postmortem", postmortemUsage)
	out := fs.String("out", "", "write the Markdown to `FILE` instead of standard output")
	ref, err := parseIncidentRef(fs, args)
	if err != nil {
		return err
	}
	c, id, err := e.dialIncident(ctx, ref)
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := queryReport(ctx, c, id)
	if err != nil {
		return err
	}
	md := postmortem.Render(r)
	if *out == "" {
		_, err := fmt.Fprint(e.stdout, md)
		return err
	}
	if err := writeFileAtomic(*out, []byte(md)); err != nil {
		return fmt.Errorf("postmortem: %w", err)
	}
	kind := "postmortem"
	if r.State != workflows.Closed {
		kind = "draft postmortem (incident " + string(r.State) + ")"
	}
	fmt.Fprintf(e.stdout, "%s of %s written to %s\n", kind, id, *out)
	return nil
}

// queryReport asks the incident for its report. A failed query is explained
// the way show explains it (no such incident, Temporal unreachable, no
// worker answering), or as a worker without the report query.
func queryReport(ctx context.Context, c client.Client, id string) (workflows.Report, error) {
	qctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, "", workflows.QueryReport)
	if err != nil {
		var qf *serviceerror.QueryFailed
		var dl *serviceerror.DeadlineExceeded
		switch {
		case errors.As(err, &qf):
			return workflows.Report{}, fmt.Errorf("incident %q cannot give its report (is its worker older than this command?): %s", id, qf.Message)
		case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &dl):
			return workflows.Report{}, &incidents.NoAnswerError{WorkflowID: id, Err: err}
		}
		// Let the status query say what is wrong (no such incident,
		// Temporal unreachable), with the words show uses.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, serr := incidents.Status(sctx, c, id); serr != nil {
			return workflows.Report{}, serr
		}
		return workflows.Report{}, fmt.Errorf("query %s on %q: %w", workflows.QueryReport, id, err)
	}
	var r workflows.Report
	if err := v.Get(&r); err != nil {
		return workflows.Report{}, fmt.Errorf("decode the report of %q: %w", id, err)
	}
	return r, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so an interrupted write leaves the old file whole.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Chmod(tmp, postmortem.FileMode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
