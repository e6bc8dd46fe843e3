package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/starter/cli"
	"github.com/datasev/datasev/starter/report"
)

// showReport ends the demo with the team's incident record over the
// incidents closed in the last hour: once the demo incident id has closed
// and visibility lists it, it runs `datasev report --since 1h` against the
// dev server and prints its table, indented. The other demo incidents are
// still open, so they are not in it yet.
func showReport(ctx context.Context, c client.Client, out io.Writer, hostPort, id string) error {
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := c.GetWorkflow(wctx, id, "").Get(wctx, nil); err != nil {
		fmt.Fprintf(out, "(no incident record yet: %s has not closed: %v)\n", id, err)
		return nil
	}
	f := &report.Fetcher{Client: c}
	for {
		execs, err := f.List(wctx, report.Query{Since: time.Now().Add(-time.Hour), Until: time.Now()})
		if err == nil && len(execs) > 0 {
			break
		}
		select {
		case <-wctx.Done():
			fmt.Fprintf(out, "(no incident record yet: visibility does not list %s as closed)\n", id)
			return nil
		case <-time.After(300 * time.Millisecond):
		}
	}
	getenv := func(k string) string {
		switch k {
		case "TEMPORAL_ADDRESS":
			return hostPort
		case "TEMPORAL_NAMESPACE", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE":
			return ""
		}
		return os.Getenv(k) // DATASEV_CODEC_*: the payloads are read as the worker wrote them
	}
	var b, errb strings.Builder
	fmt.Fprintf(out, "\nthe team's incident record (incidents closed in the last hour): TEMPORAL_ADDRESS=%s go run ./starter report --since 1h\n", hostPort)
	if code := cli.Run(ctx, []string{"report", "--since", "1h"}, getenv, &b, &errb); code != 0 {
		fmt.Fprintf(out, "(the report failed: %s)\n", strings.TrimSpace(errb.String()))
		return nil // the demo itself went well
	}
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintf(out, "  │ %s\n", l)
	}
	return nil
}
