package gdoctest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/docs/v1"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/datasev/datasev/activities/lifecycle/gdoc"
	"github.com/datasev/datasev/activities/lifecycle/gdoc/gdoctest"
)

func clients(t *testing.T, s *gdoctest.Server) (*docs.Service, *drive.Service) {
	t.Helper()
	ctx := context.Background()
	creds, err := google.CredentialsFromJSONWithType(ctx, s.CredentialsJSON(), google.ServiceAccount, docs.DocumentsScope, drive.DriveScope)
	if err != nil {
		t.Fatal(err)
	}
	hc := oauth2.NewClient(ctx, creds.TokenSource)
	ds, err := docs.NewService(ctx, option.WithHTTPClient(hc), option.WithEndpoint(s.URL))
	if err != nil {
		t.Fatal(err)
	}
	dr, err := drive.NewService(ctx, option.WithHTTPClient(hc), option.WithEndpoint(s.DriveURL()))
	if err != nil {
		t.Fatal(err)
	}
	return ds, dr
}

func code(err error) (int, string) {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return 0, ""
	}
	reason := ""
	if len(ge.Errors) > 0 {
		reason = ge.Errors[0].Reason
	}
	return ge.Code, reason
}

// Indexes are UTF-16 code units: after "a🚚b\n" (🚚 is two units) the
// next paragraph starts at 1+5.
func TestDocumentIndexesAreUTF16(t *testing.T) {
	s := gdoctest.New()
	defer s.Close()
	s.AddDocument("d1", "doc", "a🚚b\nsecond")
	ds, _ := clients(t, s)
	d, err := ds.Documents.Get("d1").Do()
	if err != nil {
		t.Fatal(err)
	}
	c := d.Body.Content
	if len(c) != 3 || c[0].SectionBreak == nil || c[1].StartIndex != 1 || c[1].EndIndex != 6 || c[2].StartIndex != 6 || c[2].EndIndex != 13 {
		t.Fatalf("content indexes: %+v %+v %+v", c[0], c[1], c[2])
	}
	if got := c[1].Paragraph.Elements[0].TextRun.Content; got != "a🚚b\n" {
		t.Errorf("first paragraph %q", got)
	}
	// Inserting inside the surrogate pair is refused.
	_, err = ds.Documents.BatchUpdate("d1", &docs.BatchUpdateDocumentRequest{Requests: []*docs.Request{
		{InsertText: &docs.InsertTextRequest{Text: "x", Location: &docs.Location{Index: 3}}}}}).Do()
	if n, _ := code(err); n != 400 {
		t.Errorf("insert inside a surrogate pair: %v, want 400", err)
	}
}

// A batch with one invalid request applies nothing; a stale
// requiredRevisionId is refused with 400; the final newline stays.
func TestBatchUpdateAllOrNothing(t *testing.T) {
	s := gdoctest.New()
	defer s.Close()
	s.AddDocument("d1", "doc", "hello")
	ds, _ := clients(t, s)
	d, _ := ds.Documents.Get("d1").Do()
	_, err := ds.Documents.BatchUpdate("d1", &docs.BatchUpdateDocumentRequest{Requests: []*docs.Request{
		{InsertText: &docs.InsertTextRequest{Text: "X", Location: &docs.Location{Index: 1}}},
		{DeleteContentRange: &docs.DeleteContentRangeRequest{Range: &docs.Range{StartIndex: 1, EndIndex: 8}}}, // past the final newline
	}}).Do()
	if n, _ := code(err); n != 400 {
		t.Fatalf("invalid batch: %v, want 400", err)
	}
	if txt, _ := s.Text("d1"); txt != "hello\n" {
		t.Errorf("an invalid batch changed the document to %q", txt)
	}
	res, err := ds.Documents.BatchUpdate("d1", &docs.BatchUpdateDocumentRequest{
		Requests:     []*docs.Request{{InsertText: &docs.InsertTextRequest{Text: "¡", EndOfSegmentLocation: &docs.EndOfSegmentLocation{}}}},
		WriteControl: &docs.WriteControl{RequiredRevisionId: d.RevisionId},
	}).Do()
	if err != nil || res.WriteControl == nil || res.WriteControl.RequiredRevisionId == d.RevisionId {
		t.Fatalf("write: %v %+v", err, res)
	}
	if txt, _ := s.Text("d1"); txt != "hello¡\n" {
		t.Errorf("text %q", txt)
	}
	_, err = ds.Documents.BatchUpdate("d1", &docs.BatchUpdateDocumentRequest{
		Requests:     []*docs.Request{{InsertText: &docs.InsertTextRequest{Text: "again", Location: &docs.Location{Index: 1}}}},
		WriteControl: &docs.WriteControl{RequiredRevisionId: d.RevisionId},
	}).Do()
	if n, _ := code(err); n != 400 {
		t.Errorf("stale revision: %v, want 400", err)
	}
}

// Faults carry Google's error shape; a request without a token is 401.
func TestErrorShapesAndAuth(t *testing.T) {
	s := gdoctest.New()
	defer s.Close()
	s.AddFolder("f", "folder")
	_, dr := clients(t, s)
	s.FailNext(1, gdoctest.Fault{Status: 429})
	_, err := dr.Files.List().Q("'f' in parents and trashed = false").Do()
	if n, reason := code(err); n != 429 || reason != "rateLimitExceeded" {
		t.Errorf("429 fault: %v (code %d reason %q)", err, n, reason)
	}
	_, err = dr.Files.Copy("missing", &drive.File{Parents: []string{"f"}}).Do()
	if n, reason := code(err); n != 404 || reason != "notFound" {
		t.Errorf("copy of a missing file: %v", err)
	}
	_, err = dr.Files.List().Q("fullText contains 'x'").Do()
	if n, _ := code(err); n != 400 {
		t.Errorf("unsupported query: %v, want 400", err)
	}
	anon, err := drive.NewService(context.Background(), option.WithHTTPClient(http.DefaultClient), option.WithEndpoint(s.DriveURL()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.Files.List().Do()
	if n, _ := code(err); n != 401 {
		t.Errorf("no token: %v, want 401", err)
	}
}

// The demo's variables configure the store as the worker reads them.
func TestSeedDemo(t *testing.T) {
	s := gdoctest.New()
	defer s.Close()
	env, err := s.SeedDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := gdoc.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || !cfg.Configured() || cfg.TemplateID != gdoctest.DemoTemplateID {
		t.Fatalf("config from the demo's variables: %+v %v", cfg, err)
	}
	if txt, ok := s.Text(gdoctest.DemoTemplateID); !ok || !strings.Contains(txt, "{{incident_id}}") {
		t.Errorf("demo template %q", txt)
	}
}
