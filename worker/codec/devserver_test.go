package codec_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/worker/codec"
)

// srv is the real Temporal dev server, nil with -short.
var srv *devstack.Server

func TestMain(m *testing.M) {
	os.Exit(devstack.RunTests(m, func(s *devstack.Server) (func(), error) {
		srv = s
		return nil, nil
	}))
}

func needTemporal(t *testing.T) {
	t.Helper()
	if srv == nil {
		t.Skip("needs the dev server (not with -short)")
	}
}

// runbookInput stands in for a workflow input that must not be readable
// in history.
type runbookInput struct {
	Incident string `json:"incident"`
	Note     string `json:"note"`
}

func codecEchoWorkflow(ctx workflow.Context, in runbookInput) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out string
	err := workflow.ExecuteActivity(ctx, "codec-echo-activity", in.Note).Get(ctx, &out)
	return "resolved " + in.Incident + ": " + out, err
}

func codecEchoActivity(_ context.Context, note string) (string, error) {
	return "checked " + note, nil
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// historyPayloads gathers the payloads of the events that carry workflow
// and activity inputs and results.
func historyPayloads(events []*historypb.HistoryEvent) map[string][]*commonpb.Payload {
	got := map[string][]*commonpb.Payload{}
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			got["workflow input"] = e.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			got["activity input"] = e.GetActivityTaskScheduledEventAttributes().GetInput().GetPayloads()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			got["activity result"] = e.GetActivityTaskCompletedEventAttributes().GetResult().GetPayloads()
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			got["workflow result"] = e.GetWorkflowExecutionCompletedEventAttributes().GetResult().GetPayloads()
		}
	}
	return got
}

// TestEncryptedHistoryOnDevServer runs a workflow with a worker and client
// using the codec on the real dev server, reads its history with a client
// without the codec (opaque), then decodes it through the codec endpoint
// with the SDK's remote codec client and with the real Temporal CLI.
func TestEncryptedHistoryOnDevServer(t *testing.T) {
	needTemporal(t)
	ctx := t.Context()
	kr, _ := keyring(t, "k1")
	quiet := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	c, err := client.Dial(client.Options{
		HostPort:         srv.HostPort(),
		Namespace:        srv.Namespace(),
		DataConverter:    codec.DataConverter(kr),
		FailureConverter: codec.FailureConverter(kr),
		Logger:           quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	taskQueue := "codec-test-" + randomHex(t)
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(codecEchoWorkflow, workflow.RegisterOptions{Name: "codec-echo"})
	w.RegisterActivityWithOptions(codecEchoActivity, activity.RegisterOptions{Name: "codec-echo-activity"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	marker := "plaintext-marker-" + randomHex(t)
	in := runbookInput{Incident: "INC-7", Note: marker}
	wfID := "codec-test-" + randomHex(t)
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(startCtx, client.StartWorkflowOptions{ID: wfID, TaskQueue: taskQueue}, "codec-echo", in)
	if err != nil {
		t.Fatal(err)
	}
	var result string
	if err := run.Get(startCtx, &result); err != nil {
		t.Fatal(err)
	}
	wantResult := "resolved INC-7: checked " + marker
	if result != wantResult {
		t.Fatalf("result %q; want %q", result, wantResult)
	}

	// A client without the codec sees only sealed payloads.
	plain := srv.Client()
	var events []*historypb.HistoryEvent
	iter := plain.GetWorkflowHistory(ctx, wfID, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
		raw, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(marker)) || bytes.Contains(raw, []byte("INC-7")) {
			t.Fatalf("event %d (%s) holds plaintext", e.GetEventId(), e.GetEventType())
		}
	}
	payloads := historyPayloads(events)
	for _, what := range []string{"workflow input", "activity input", "activity result", "workflow result"} {
		ps := payloads[what]
		if len(ps) != 1 {
			t.Fatalf("%s: %d payloads in history; want 1", what, len(ps))
		}
		md := ps[0].GetMetadata()
		if string(md[converter.MetadataEncoding]) != codec.EncodingEncrypted || string(md[codec.MetadataKeyID]) != "k1" {
			t.Fatalf("%s metadata %v; want binary/encrypted with key k1", what, md)
		}
	}
	var opaque string
	if err := plain.GetWorkflow(ctx, wfID, run.GetRunID()).Get(ctx, &opaque); err == nil {
		t.Fatalf("client without the codec read the result %q", opaque)
	}

	// The codec endpoint opens them for a client with the token.
	var hsLog syncBuffer
	hs := httptest.NewServer(codec.Handler(kr, codec.HandlerOptions{
		AuthToken:  testToken,
		Namespaces: []string{srv.Namespace()},
		Logger:     slog.New(slog.NewTextHandler(&hsLog, nil)),
	}))
	defer hs.Close()
	rc := remote(hs, map[string]string{"Authorization": "Bearer " + testToken, "X-Namespace": srv.Namespace()})
	dc := converter.GetDefaultDataConverter()
	decode := func(what string, into any) {
		t.Helper()
		dec, err := rc.Decode(payloads[what])
		if err != nil {
			t.Fatalf("%s through the codec endpoint: %v", what, err)
		}
		if err := dc.FromPayload(dec[0], into); err != nil {
			t.Fatalf("%s decoded: %v", what, err)
		}
	}
	var gotIn runbookInput
	decode("workflow input", &gotIn)
	if gotIn != in {
		t.Fatalf("workflow input %+v; want %+v", gotIn, in)
	}
	var gotNote, gotActResult, gotResult string
	decode("activity input", &gotNote)
	decode("activity result", &gotActResult)
	decode("workflow result", &gotResult)
	if gotNote != marker || gotActResult != "checked "+marker || gotResult != wantResult {
		t.Fatalf("decoded %q, %q, %q", gotNote, gotActResult, gotResult)
	}

	t.Run("temporal CLI with --codec-endpoint", func(t *testing.T) {
		exe, err := devstack.EnsureCLI(ctx, nil)
		if err != nil {
			t.Skip("no Temporal CLI:", err)
		}
		show := func(extra ...string) (string, error) {
			args := append([]string{"workflow", "show", "--address", srv.HostPort(), "--namespace", srv.Namespace(),
				"--workflow-id", wfID, "--output", "json"}, extra...)
			cmdCtx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			cmd := exec.CommandContext(cmdCtx, exe, args...)
			cmd.Env = append(os.Environ(), "TEMPORAL_CONFIG_FILE=/dev/null", "TEMPORAL_ADDRESS=", "TEMPORAL_API_KEY=")
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := show()
		if err != nil {
			t.Fatalf("temporal workflow show: %v\n%s", err, out)
		}
		if strings.Contains(out, marker) || !strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(codec.EncodingEncrypted))) {
			t.Fatalf("without the codec the CLI shows plaintext or no sealed payloads:\n%s", out)
		}
		out, err = show("--codec-endpoint", hs.URL, "--codec-auth", "Bearer "+testToken)
		if err != nil {
			t.Fatalf("temporal workflow show --codec-endpoint: %v\n%s", err, out)
		}
		// The CLI prints payload data as base64 of the JSON value.
		resultJSON, _ := json.Marshal(wantResult)
		if !strings.Contains(out, base64.StdEncoding.EncodeToString(resultJSON)) {
			t.Fatalf("with the codec endpoint the CLI does not show the plaintext result:\n%s", out)
		}
		out, err = show("--codec-endpoint", hs.URL, "--codec-auth", "Bearer wrong", "--command-timeout", "3s")
		if err == nil || strings.Contains(out, marker) {
			t.Fatalf("wrong --codec-auth: err %v, output:\n%s", err, out)
		}
		if !strings.Contains(hsLog.String(), "wrong bearer token") {
			t.Fatalf("the endpoint did not refuse the wrong token; its log:\n%s", hsLog.String())
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
