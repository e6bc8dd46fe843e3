// Package gdoctest is an in-process stand-in for the parts of the Google
// Docs v1 and Drive v3 REST APIs that the gdoc incident document store
// uses, for tests and the demo. google.golang.org/api's generated clients
// run unmodified against it (option.WithEndpoint), and so does
// golang.org/x/oauth2/google with the service account key CredentialsJSON
// returns, whose token_uri is this server's /token.
//
// What it serves (paths as the clients build them):
//
//	POST  /token                                      JWT bearer grant (RS256, checked)
//	GET   /v1/documents/{id}                          documents.get
//	POST  /v1/documents/{id}:batchUpdate              documents.batchUpdate
//	POST  /drive/v3/files/{id}/copy                   files.copy
//	GET   /drive/v3/files                             files.list (a small q grammar)
//	GET   /drive/v3/files/{id}/permissions            permissions.list (paged)
//	POST  /drive/v3/files/{id}/permissions            permissions.create
//	PATCH /drive/v3/files/{id}/permissions/{pid}      permissions.update (role)
//	GET   /document/d/{id}/edit                       the document's text (a browser view for the demo)
//
// A document's body is plain paragraphs of text: documents.get answers a
// section break and one paragraph per line, with startIndex and endIndex
// counted in UTF-16 code units as the Docs API counts them; batchUpdate
// takes insertText, deleteContentRange, replaceAllText and
// updateParagraphStyle (namedStyleType only), validates every request
// before applying any (all or nothing) and honours
// writeControl.requiredRevisionId. Errors carry Google's JSON shape
// ({"error": {"code", "message", "errors": [{"domain", "reason",
// "message"}], "status"}}). Faults (FailNext, FailRoute) and lost answers
// (LoseResponse: the request is carried out, the connection dropped)
// exercise a client's retries.
//
// It is a stand-in, never a production path: the worker talks to it only
// when DATASEV_GDOC_API_URL names it.
package gdoctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/golang-jwt/jwt/v5"
)

// ClientEmail is the service account the stand-in's key belongs to.
const ClientEmail = "datasev-scribe@datasev-test.iam.gserviceaccount.com"

// DocMimeType and FolderMimeType are Drive's MIME types of a Google Doc and
// of a folder.
const (
	DocMimeType    = "application/vnd.google-apps.document"
	FolderMimeType = "application/vnd.google-apps.folder"
)

// Fault is an injected error answer.
type Fault struct {
	// Status is the HTTP status code (403, 404, 429, 500, 503 ...).
	Status int
	// Reason is errors[0].reason (e.g. rateLimitExceeded,
	// userRateLimitExceeded, insufficientFilePermissions, notFound);
	// default follows Status.
	Reason string
	// Message is the error's message; default follows Status.
	Message string
	// Headers are set on the answer (e.g. Retry-After).
	Headers map[string]string
}

// Permission is one of a file's Drive permissions.
type Permission struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Role         string `json:"role"`
	EmailAddress string `json:"emailAddress,omitempty"`
	Kind         string `json:"kind,omitempty"`
}

// file is a Drive file: a folder or a Google Doc.
type file struct {
	id, name, mimeType string
	parents            []string
	appProperties      map[string]string
	trashed            bool
	perms              []Permission
	// A document's body text, UTF-16, always ending in '\n'; styles
	// (namedStyleType) per paragraph, by paragraph number.
	text   []uint16
	styles map[int]string
	rev    int
}

// Server is a running Docs and Drive stand-in.
type Server struct {
	// URL is the base URL, ending in "/": the Docs client's endpoint;
	// the Drive client's is URL + "drive/v3/" (DriveURL).
	URL string
	// Key is the service account's private key (CredentialsJSON).
	Key *rsa.PrivateKey

	srv *httptest.Server

	mu         sync.Mutex
	files      map[string]*file
	tokens     map[string]bool
	faults     []Fault
	routeFault map[string][]Fault
	lose       map[string]int
	counts     map[string]int
	notified   int
	nextID     int
	hook       func(route string)
}

// New starts a server on 127.0.0.1:0 with a fresh service account key.
func New() *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("gdoctest: key: %v", err))
	}
	s := &Server{
		Key:        key,
		files:      map[string]*file{},
		tokens:     map[string]bool{},
		routeFault: map[string][]Fault{},
		lose:       map[string]int{},
		counts:     map[string]int{},
		nextID:     1,
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("gdoctest: listen: %v", err))
	}
	ts.Listener = l
	ts.Start()
	s.srv = ts
	s.URL = ts.URL + "/"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// DriveURL is the Drive client's endpoint.
func (s *Server) DriveURL() string { return s.URL + "drive/v3/" }

// TokenURL is the service account's token_uri.
func (s *Server) TokenURL() string { return s.URL + "token" }

// CredentialsJSON is a service account key file whose token_uri is this
// server's: golang.org/x/oauth2/google signs a JWT with it and exchanges
// it at /token for an access token the API routes accept.
func (s *Server) CredentialsJSON() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(s.Key)
	if err != nil {
		panic(fmt.Sprintf("gdoctest: key: %v", err))
	}
	b, _ := json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     "datasev-test",
		"private_key_id": "gdoctest-key-1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   ClientEmail,
		"client_id":      "100000000000000000001",
		"token_uri":      s.TokenURL(),
	}, "", "  ")
	return b
}

// WriteCredentials writes CredentialsJSON to dir/name (mode 0600) and
// returns its path.
func (s *Server) WriteCredentials(dir string) (string, error) {
	p := filepath.Join(dir, "gdoc-service-account.json")
	if err := os.WriteFile(p, s.CredentialsJSON(), 0o600); err != nil {
		return "", fmt.Errorf("gdoctest: write credentials: %w", err)
	}
	return p, nil
}

// AddFolder creates a folder the service account may write into.
func (s *Server) AddFolder(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[id] = &file{id: id, name: name, mimeType: FolderMimeType,
		perms: []Permission{{ID: "sa", Type: "user", Role: "organizer", EmailAddress: ClientEmail, Kind: "drive#permission"}}}
}

// AddDocument creates a Google Doc with text (each line a paragraph; a
// final newline is added when missing), e.g. a template.
func (s *Server) AddDocument(id, title, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	s.files[id] = &file{id: id, name: title, mimeType: DocMimeType, text: utf16.Encode([]rune(text)), styles: map[int]string{}, rev: 1,
		perms: []Permission{{ID: "sa", Type: "user", Role: "owner", EmailAddress: ClientEmail, Kind: "drive#permission"}}}
}

// Text is a document's body text ("" and false when there is none).
func (s *Server) Text(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	if f == nil || f.mimeType != DocMimeType {
		return "", false
	}
	return string(utf16.Decode(f.text)), true
}

// Style is the namedStyleType of a document's paragraph n (0-based),
// "NORMAL_TEXT" unless set.
func (s *Server) Style(id string, n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[id]; f != nil && f.styles[n] != "" {
		return f.styles[n]
	}
	return "NORMAL_TEXT"
}

// Edit changes a document's text as a person typing in it would: at
// UTF-16 offset at (0 is the body's first character) it removes del code
// units and inserts ins. It makes a new revision.
func (s *Server) Edit(id string, at, del int, ins string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	if f == nil {
		panic("gdoctest: Edit: no document " + id)
	}
	t := append([]uint16{}, f.text[:at]...)
	t = append(t, utf16.Encode([]rune(ins))...)
	f.text = append(t, f.text[at+del:]...)
	f.rev++
}

// Documents lists the IDs of the documents in folder, sorted.
func (s *Server) Documents(folder string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, f := range s.files {
		if f.mimeType == DocMimeType && contains(f.parents, folder) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Name is a file's name.
func (s *Server) Name(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[id]; f != nil {
		return f.name
	}
	return ""
}

// Permissions returns a copy of a file's permissions.
func (s *Server) Permissions(id string) []Permission {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[id]; f != nil {
		return append([]Permission(nil), f.perms...)
	}
	return nil
}

// Notifications counts the permissions created without
// sendNotificationEmail=false (each would have mailed someone).
func (s *Server) Notifications() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notified
}

// FailNext makes the next n requests (any route but /token) answer f.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// FailRoute makes the next n requests to route (as Count names it, e.g.
// "POST /drive/v3/files/{id}/copy") answer f.
func (s *Server) FailRoute(route string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.routeFault[route] = append(s.routeFault[route], f)
	}
}

// LoseResponse makes the next n requests to route be carried out but
// their answers lost: the server closes the connection without answering.
func (s *Server) LoseResponse(route string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose[route] += n
}

// Count is how many requests a route served (faults and lost answers
// included), e.g. Count("POST /v1/documents/{id}:batchUpdate").
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// Tokens is how many access tokens /token issued.
func (s *Server) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// ---- serving ----

// apiError is Google's error body.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    int         `json:"code"`
	Message string      `json:"message"`
	Errors  []errorItem `json:"errors"`
	Status  string      `json:"status"`
}

type errorItem struct {
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Message      string `json:"message"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

var statusNames = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers Google's error shape.
func writeError(w http.ResponseWriter, status int, reason, msg string) {
	domain := "global"
	if reason == "rateLimitExceeded" || reason == "userRateLimitExceeded" {
		domain = "usageLimits"
	}
	writeJSON(w, status, apiError{Error: errorBody{Code: status, Message: msg, Status: statusNames[status],
		Errors: []errorItem{{Domain: domain, Reason: reason, Message: msg}}}})
}

func faultDefaults(f Fault) Fault {
	switch f.Status {
	case 429:
		f.Reason, f.Message = or(f.Reason, "rateLimitExceeded"), or(f.Message, "Rate Limit Exceeded")
	case 403:
		f.Reason, f.Message = or(f.Reason, "insufficientFilePermissions"), or(f.Message, "The user does not have sufficient permissions for this file.")
	case 404:
		f.Reason, f.Message = or(f.Reason, "notFound"), or(f.Message, "File not found.")
	case 401:
		f.Reason, f.Message = or(f.Reason, "authError"), or(f.Message, "Invalid Credentials")
	case 400:
		f.Reason, f.Message = or(f.Reason, "badRequest"), or(f.Message, "Bad Request")
	default:
		f.Reason, f.Message = or(f.Reason, "backendError"), or(f.Message, "Backend Error")
	}
	return f
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// routeName names a request by its route template.
func routeName(method, path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segs) == 3 && segs[0] == "v1" && segs[1] == "documents":
		if strings.HasSuffix(segs[2], ":batchUpdate") {
			return method + " /v1/documents/{id}:batchUpdate"
		}
		return method + " /v1/documents/{id}"
	case len(segs) >= 3 && segs[0] == "drive" && segs[1] == "v3" && segs[2] == "files":
		switch {
		case len(segs) == 3:
			return method + " /drive/v3/files"
		case len(segs) == 5 && segs[4] == "copy":
			return method + " /drive/v3/files/{id}/copy"
		case len(segs) == 5 && segs[4] == "permissions":
			return method + " /drive/v3/files/{id}/permissions"
		case len(segs) == 6 && segs[4] == "permissions":
			return method + " /drive/v3/files/{id}/permissions/{permissionId}"
		}
	case len(segs) == 4 && segs[0] == "document" && segs[1] == "d":
		return method + " /document/d/{id}/edit"
	}
	return method + " /" + strings.Join(segs, "/")
}

// BeforeEach sets fn to run before each request is served (outside the
// server's lock, so fn may call Edit): e.g. a person typing between a
// client's read and its write.
func (s *Server) BeforeEach(fn func(route string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	route := routeName(r.Method, r.URL.Path)
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(route)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[route]++
	if route == "POST /token" {
		s.token(w, r)
		return
	}
	if route == "GET /document/d/{id}/edit" {
		s.view(w, r)
		return
	}
	var fault *Fault
	if len(s.faults) > 0 {
		fault, s.faults = &s.faults[0], s.faults[1:]
	} else if rf := s.routeFault[route]; len(rf) > 0 {
		fault, s.routeFault[route] = &rf[0], rf[1:]
	}
	if fault != nil {
		f := faultDefaults(*fault)
		for k, v := range f.Headers {
			w.Header().Set(k, v)
		}
		writeError(w, f.Status, f.Reason, f.Message)
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
		writeError(w, http.StatusUnauthorized, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token.")
		return
	}
	if s.lose[route] > 0 {
		s.lose[route]--
		defer dropConnection(w)
		w = httptest.NewRecorder()
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch route {
	case "GET /v1/documents/{id}":
		s.getDocument(w, segs[2])
	case "POST /v1/documents/{id}:batchUpdate":
		s.batchUpdate(w, r, strings.TrimSuffix(segs[2], ":batchUpdate"))
	case "POST /drive/v3/files/{id}/copy":
		s.copyFile(w, r, segs[3])
	case "GET /drive/v3/files":
		s.listFiles(w, r)
	case "GET /drive/v3/files/{id}/permissions":
		s.listPermissions(w, r, segs[3])
	case "POST /drive/v3/files/{id}/permissions":
		s.createPermission(w, r, segs[3])
	case "PATCH /drive/v3/files/{id}/permissions/{permissionId}":
		s.updatePermission(w, r, segs[3], segs[5])
	default:
		writeError(w, http.StatusNotFound, "notFound", "The requested URL "+r.URL.Path+" was not found on this server.")
	}
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	writeError(w, http.StatusBadGateway, "backendError", "Bad Gateway")
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.tokens[tok]
}

// token serves the JWT bearer grant (RFC 7523) the service account flow
// uses: the assertion must be RS256-signed by Key, issued by ClientEmail
// for this token URL, unexpired, with a scope.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
		return
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &s.Key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(ClientEmail), jwt.WithAudience(s.TokenURL()), jwt.WithExpirationRequired())
	if err != nil || claims["scope"] == nil || claims["scope"] == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
		return
	}
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	tok := "ya29.gdoctest-" + hex.EncodeToString(raw)
	s.tokens[tok] = true
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3599})
}

// view shows a document's text, for a person following the demo's link.
func (s *Server) view(w http.ResponseWriter, r *http.Request) {
	id := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[2]
	f := s.files[id]
	if f == nil || f.mimeType != DocMimeType {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%s\n\n%s", f.name, string(utf16.Decode(f.text)))
}

func (s *Server) doc(w http.ResponseWriter, id string) *file {
	f := s.files[id]
	if f == nil || f.trashed || f.mimeType != DocMimeType {
		writeError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return nil
	}
	return f
}

// ---- documents ----

// paragraphs splits text (ending in '\n') into [start, end) offsets of
// its paragraphs, newline included.
func paragraphs(text []uint16) [][2]int {
	var out [][2]int
	start := 0
	for i, c := range text {
		if c == '\n' {
			out = append(out, [2]int{start, i + 1})
			start = i + 1
		}
	}
	return out
}

func (s *Server) getDocument(w http.ResponseWriter, id string) {
	f := s.doc(w, id)
	if f == nil {
		return
	}
	content := []any{map[string]any{"endIndex": 1, "sectionBreak": map[string]any{"sectionStyle": map[string]any{}}}}
	for n, p := range paragraphs(f.text) {
		start, end := p[0]+1, p[1]+1
		style := f.styles[n]
		if style == "" {
			style = "NORMAL_TEXT"
		}
		content = append(content, map[string]any{
			"startIndex": start, "endIndex": end,
			"paragraph": map[string]any{
				"elements": []any{map[string]any{"startIndex": start, "endIndex": end,
					"textRun": map[string]any{"content": string(utf16.Decode(f.text[p[0]:p[1]])), "textStyle": map[string]any{}}}},
				"paragraphStyle": map[string]any{"namedStyleType": style},
			},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"documentId": f.id, "title": f.name, "revisionId": revision(f),
		"body": map[string]any{"content": content},
	})
}

func revision(f *file) string { return "ALm37BW-gdoctest-" + strconv.Itoa(f.rev) }

type location struct {
	Index     *int64 `json:"index"`
	SegmentID string `json:"segmentId"`
	TabID     string `json:"tabId"`
}

type docRequest struct {
	InsertText *struct {
		Text                 string    `json:"text"`
		Location             *location `json:"location"`
		EndOfSegmentLocation *struct {
			SegmentID string `json:"segmentId"`
		} `json:"endOfSegmentLocation"`
	} `json:"insertText"`
	DeleteContentRange *struct {
		Range *docRange `json:"range"`
	} `json:"deleteContentRange"`
	ReplaceAllText *struct {
		ContainsText *struct {
			Text      string `json:"text"`
			MatchCase bool   `json:"matchCase"`
		} `json:"containsText"`
		ReplaceText string `json:"replaceText"`
	} `json:"replaceAllText"`
	UpdateParagraphStyle *struct {
		Range          *docRange `json:"range"`
		ParagraphStyle struct {
			NamedStyleType string `json:"namedStyleType"`
		} `json:"paragraphStyle"`
		Fields string `json:"fields"`
	} `json:"updateParagraphStyle"`
	other map[string]json.RawMessage
}

type docRange struct {
	StartIndex int64  `json:"startIndex"`
	EndIndex   int64  `json:"endIndex"`
	SegmentID  string `json:"segmentId"`
}

var namedStyles = map[string]bool{"NORMAL_TEXT": true, "TITLE": true, "SUBTITLE": true, "HEADING_1": true, "HEADING_2": true,
	"HEADING_3": true, "HEADING_4": true, "HEADING_5": true, "HEADING_6": true}

func (s *Server) batchUpdate(w http.ResponseWriter, r *http.Request, id string) {
	f := s.doc(w, id)
	if f == nil {
		return
	}
	var body struct {
		Requests     []json.RawMessage `json:"requests"`
		WriteControl *struct {
			RequiredRevisionID string `json:"requiredRevisionId"`
			TargetRevisionID   string `json:"targetRevisionId"`
		} `json:"writeControl"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", "Invalid JSON payload received. "+err.Error())
		return
	}
	if wc := body.WriteControl; wc != nil {
		if wc.TargetRevisionID != "" {
			writeError(w, http.StatusBadRequest, "badRequest", "gdoctest: writeControl.targetRevisionId is not supported by the stand-in")
			return
		}
		if wc.RequiredRevisionID != "" && wc.RequiredRevisionID != revision(f) {
			writeError(w, http.StatusBadRequest, "badRequest", "The required revision ID does not match the latest revision.")
			return
		}
	}
	// Validate and apply on a copy: all or nothing.
	text := append([]uint16(nil), f.text...)
	styles := map[int]string{}
	for k, v := range f.styles {
		styles[k] = v
	}
	replies := make([]any, 0, len(body.Requests))
	for i, raw := range body.Requests {
		var keys map[string]json.RawMessage
		_ = json.Unmarshal(raw, &keys)
		if len(keys) != 1 {
			writeError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid requests[%d]: exactly one kind of request must be set.", i))
			return
		}
		var rq docRequest
		if err := json.Unmarshal(raw, &rq); err != nil {
			writeError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid requests[%d]: %v", i, err))
			return
		}
		reply, newText, err := apply(rq, text, styles)
		if err != "" {
			writeError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid requests[%d]: %s", i, err))
			return
		}
		text = newText
		replies = append(replies, reply)
	}
	if len(body.Requests) > 0 {
		f.text, f.styles = text, styles
		f.rev++
	}
	writeJSON(w, http.StatusOK, map[string]any{"documentId": f.id, "replies": replies,
		"writeControl": map[string]any{"requiredRevisionId": revision(f)}})
}

// apply carries out one request on text; err is the reason it is invalid.
func apply(rq docRequest, text []uint16, styles map[int]string) (reply any, out []uint16, err string) {
	end := int64(len(text)) + 1 // the body's endIndex
	switch {
	case rq.InsertText != nil:
		it := rq.InsertText
		var at int64
		switch {
		case it.Location != nil && it.EndOfSegmentLocation == nil:
			if it.Location.SegmentID != "" || it.Location.Index == nil {
				return nil, nil, "insertText.location: only the body (no segmentId) with an index is supported"
			}
			at = *it.Location.Index
			if at < 1 || at >= end {
				return nil, nil, fmt.Sprintf("insertText: Index %d must be less than the end index of the referenced segment, %d.", at, end)
			}
		case it.EndOfSegmentLocation != nil && it.Location == nil:
			if it.EndOfSegmentLocation.SegmentID != "" {
				return nil, nil, "insertText.endOfSegmentLocation: only the body is supported"
			}
			at = end - 1
		default:
			return nil, nil, "insertText: exactly one of location and endOfSegmentLocation must be set"
		}
		if it.Text == "" {
			return nil, nil, "insertText: text must not be empty"
		}
		pos := int(at - 1)
		if splitsSurrogate(text, pos) {
			return nil, nil, "insertText: the index splits a surrogate pair"
		}
		ins := utf16.Encode([]rune(stripControl(it.Text)))
		para := paragraphAt(text, pos)
		added := strings.Count(string(utf16.Decode(ins)), "\n")
		if added > 0 {
			shiftStyles(styles, para, added)
			if st, ok := styles[para+added]; ok {
				for k := para; k < para+added; k++ {
					styles[k] = st // a new paragraph takes the style of the paragraph at the insertion index
				}
			}
		}
		out = append(append(append([]uint16{}, text[:pos]...), ins...), text[pos:]...)
		return map[string]any{}, out, ""
	case rq.DeleteContentRange != nil:
		rg := rq.DeleteContentRange.Range
		if rg == nil || rg.SegmentID != "" {
			return nil, nil, "deleteContentRange: a body range is required"
		}
		if rg.StartIndex < 1 || rg.EndIndex <= rg.StartIndex {
			return nil, nil, fmt.Sprintf("deleteContentRange: The range [%d, %d) is empty or invalid.", rg.StartIndex, rg.EndIndex)
		}
		if rg.EndIndex >= end {
			return nil, nil, fmt.Sprintf("deleteContentRange: Index %d must be less than the end index of the referenced segment, %d (the final newline cannot be deleted).", rg.EndIndex, end)
		}
		a, b := int(rg.StartIndex-1), int(rg.EndIndex-1)
		if splitsSurrogate(text, a) || splitsSurrogate(text, b) {
			return nil, nil, "deleteContentRange: the range splits a surrogate pair"
		}
		removed := strings.Count(string(utf16.Decode(text[a:b])), "\n")
		if removed > 0 {
			first := paragraphAt(text, a)
			for k := first; k < first+removed; k++ {
				delete(styles, k)
			}
			shiftStyles(styles, first+removed, -removed)
		}
		out = append(append([]uint16{}, text[:a]...), text[b:]...)
		return map[string]any{}, out, ""
	case rq.ReplaceAllText != nil:
		ct := rq.ReplaceAllText.ContainsText
		if ct == nil || ct.Text == "" {
			return nil, nil, "replaceAllText: containsText.text must not be empty"
		}
		if !ct.MatchCase {
			return nil, nil, "replaceAllText: the stand-in supports matchCase: true only"
		}
		if strings.Contains(ct.Text, "\n") || strings.Contains(rq.ReplaceAllText.ReplaceText, "\n") {
			return nil, nil, "replaceAllText: the stand-in does not replace across paragraphs"
		}
		s := string(utf16.Decode(text))
		n := strings.Count(s, ct.Text)
		s = strings.ReplaceAll(s, ct.Text, stripControl(rq.ReplaceAllText.ReplaceText))
		reply := map[string]any{"replaceAllText": map[string]any{}}
		if n > 0 {
			reply["replaceAllText"] = map[string]any{"occurrencesChanged": n}
		}
		return reply, utf16.Encode([]rune(s)), ""
	case rq.UpdateParagraphStyle != nil:
		u := rq.UpdateParagraphStyle
		if u.Range == nil || u.Range.SegmentID != "" || u.Range.StartIndex < 1 || u.Range.EndIndex <= u.Range.StartIndex || u.Range.EndIndex > end {
			return nil, nil, "updateParagraphStyle: a valid body range is required"
		}
		if u.Fields != "namedStyleType" || !namedStyles[u.ParagraphStyle.NamedStyleType] {
			return nil, nil, "updateParagraphStyle: the stand-in supports fields \"namedStyleType\" with a named style only"
		}
		first, last := paragraphAt(text, int(u.Range.StartIndex-1)), paragraphAt(text, int(u.Range.EndIndex-2))
		for k := first; k <= last; k++ {
			styles[k] = u.ParagraphStyle.NamedStyleType
		}
		return map[string]any{}, text, ""
	}
	return nil, nil, "the stand-in supports insertText, deleteContentRange, replaceAllText and updateParagraphStyle only"
}

// paragraphAt is the number of the paragraph holding offset pos.
func paragraphAt(text []uint16, pos int) int {
	n := 0
	for i := 0; i < pos && i < len(text); i++ {
		if text[i] == '\n' {
			n++
		}
	}
	return n
}

func shiftStyles(styles map[int]string, from, by int) {
	keys := make([]int, 0, len(styles))
	for k := range styles {
		if k >= from {
			keys = append(keys, k)
		}
	}
	moved := map[int]string{}
	for _, k := range keys {
		moved[k+by] = styles[k]
		delete(styles, k)
	}
	for k, v := range moved {
		styles[k] = v
	}
}

func splitsSurrogate(text []uint16, pos int) bool {
	return pos > 0 && pos < len(text) && utf16.IsSurrogate(rune(text[pos])) && text[pos] >= 0xDC00 && text[pos] <= 0xDFFF
}

// stripControl removes what the Docs API documents it strips from inserted
// text: control characters U+0000–U+0008 and U+000C–U+001F, and the Basic
// Multilingual Plane's private use area U+E000–U+F8FF.
func stripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if (r <= 0x08) || (r >= 0x0C && r <= 0x1F && r != '\n') || (r >= 0xE000 && r <= 0xF8FF) {
			return -1
		}
		return r
	}, s)
}

// ---- drive ----

type driveFile struct {
	Kind          string            `json:"kind"`
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	MimeType      string            `json:"mimeType"`
	Parents       []string          `json:"parents,omitempty"`
	AppProperties map[string]string `json:"appProperties,omitempty"`
	Trashed       bool              `json:"trashed"`
	WebViewLink   string            `json:"webViewLink,omitempty"`
}

func (s *Server) fileJSON(f *file) driveFile {
	d := driveFile{Kind: "drive#file", ID: f.id, Name: f.name, MimeType: f.mimeType, Parents: f.parents, AppProperties: f.appProperties, Trashed: f.trashed}
	if f.mimeType == DocMimeType {
		d.WebViewLink = s.URL + "document/d/" + f.id + "/edit"
	}
	return d
}

func (s *Server) copyFile(w http.ResponseWriter, r *http.Request, id string) {
	src := s.files[id]
	if src == nil || src.trashed {
		writeError(w, http.StatusNotFound, "notFound", "File not found: "+id+".")
		return
	}
	if src.mimeType == FolderMimeType {
		writeError(w, http.StatusForbidden, "cannotCopyFile", "This file cannot be copied by the user.")
		return
	}
	var body driveFile
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	if len(body.Parents) > 1 {
		writeError(w, http.StatusBadRequest, "badRequest", "Copying files into multiple folders is no longer supported.")
		return
	}
	for _, p := range body.Parents {
		if pf := s.files[p]; pf == nil || pf.mimeType != FolderMimeType {
			writeError(w, http.StatusNotFound, "notFound", "File not found: "+p+".")
			return
		}
	}
	if err := checkAppProperties(body.AppProperties); err != "" {
		writeError(w, http.StatusBadRequest, "invalidProperty", err)
		return
	}
	nf := &file{id: fmt.Sprintf("1gdoctest%035d", s.nextID), name: or(body.Name, "Copy of "+src.name), mimeType: src.mimeType,
		parents: body.Parents, appProperties: body.AppProperties, text: append([]uint16(nil), src.text...), styles: map[int]string{}, rev: 1,
		perms: []Permission{{ID: "sa", Type: "user", Role: "owner", EmailAddress: ClientEmail, Kind: "drive#permission"}}}
	for k, v := range src.styles {
		nf.styles[k] = v
	}
	s.nextID++
	s.files[nf.id] = nf
	writeJSON(w, http.StatusOK, s.fileJSON(nf))
}

// checkAppProperties applies Drive's documented limit: a property's key
// and value together at most 124 bytes (UTF-8).
func checkAppProperties(p map[string]string) string {
	for k, v := range p {
		if k == "" || len(k)+len(v) > 124 {
			return fmt.Sprintf("The property %q exceeds the size limit of 124 bytes for key plus value.", k)
		}
	}
	return ""
}

// listFiles serves files.list with q a conjunction ("and") of:
// '<id>' in parents, appProperties has { key='k' and value='v' },
// trashed = false|true, mimeType = '<type>', name = '<name>'.
func (s *Server) listFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	terms, err := parseQuery(q)
	if err != "" {
		writeJSON(w, http.StatusBadRequest, apiError{Error: errorBody{Code: 400, Message: "Invalid Value", Status: "INVALID_ARGUMENT",
			Errors: []errorItem{{Domain: "global", Reason: "invalid", Message: "Invalid Value: " + err, Location: "q", LocationType: "parameter"}}}})
		return
	}
	trashed := false
	var out []driveFile
	ids := make([]string, 0, len(s.files))
	for id := range s.files {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, t := range terms {
		if t.kind == "trashed" {
			trashed = t.a == "true"
		}
	}
	for _, id := range ids {
		f := s.files[id]
		if f.trashed != trashed {
			continue
		}
		ok := true
		for _, t := range terms {
			switch t.kind {
			case "parent":
				ok = ok && contains(f.parents, t.a)
			case "app":
				v, has := f.appProperties[t.a]
				ok = ok && has && v == t.b
			case "mime":
				ok = ok && f.mimeType == t.a
			case "name":
				ok = ok && f.name == t.a
			}
		}
		if ok {
			out = append(out, s.fileJSON(f))
		}
	}
	if out == nil {
		out = []driveFile{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "drive#fileList", "incompleteSearch": false, "files": out})
}

type term struct{ kind, a, b string }

// parseQuery reads the small q grammar listFiles serves.
func parseQuery(q string) ([]term, string) {
	var out []term
	rest := strings.TrimSpace(q)
	for rest != "" {
		var t term
		var err string
		switch {
		case strings.HasPrefix(rest, "'"):
			var id string
			id, rest, err = quoted(rest)
			if err == "" {
				var ok bool
				rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "in parents")
				if !ok {
					err = "want '<id>' in parents"
				}
			}
			t = term{kind: "parent", a: id}
		case strings.HasPrefix(rest, "appProperties has"):
			rest = strings.TrimSpace(strings.TrimPrefix(rest, "appProperties has"))
			var ok bool
			if rest, ok = strings.CutPrefix(rest, "{"); !ok {
				return nil, "want appProperties has { key='k' and value='v' }"
			}
			var k, v string
			if rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "key="); ok {
				k, rest, err = quoted(strings.TrimSpace(rest))
			}
			if err == "" && ok {
				if rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "and value="); ok {
					v, rest, err = quoted(strings.TrimSpace(rest))
				}
			}
			if err == "" && ok {
				rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "}")
			}
			if !ok && err == "" {
				err = "want appProperties has { key='k' and value='v' }"
			}
			t = term{kind: "app", a: k, b: v}
		case strings.HasPrefix(rest, "trashed"):
			rest = strings.TrimSpace(strings.TrimPrefix(rest, "trashed"))
			var ok bool
			if rest, ok = strings.CutPrefix(rest, "="); !ok {
				return nil, "want trashed = true|false"
			}
			rest = strings.TrimSpace(rest)
			switch {
			case strings.HasPrefix(rest, "false"):
				t, rest = term{kind: "trashed", a: "false"}, rest[5:]
			case strings.HasPrefix(rest, "true"):
				t, rest = term{kind: "trashed", a: "true"}, rest[4:]
			default:
				return nil, "want trashed = true|false"
			}
		case strings.HasPrefix(rest, "mimeType") || strings.HasPrefix(rest, "name"):
			kind := "mime"
			if strings.HasPrefix(rest, "name") {
				kind, rest = "name", rest[4:]
			} else {
				rest = rest[8:]
			}
			var ok bool
			if rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "="); !ok {
				return nil, "want " + kind + " = '...'"
			}
			var v string
			v, rest, err = quoted(strings.TrimSpace(rest))
			t = term{kind: kind, a: v}
		default:
			return nil, "the stand-in does not understand " + strconv.Quote(rest)
		}
		if err != "" {
			return nil, err
		}
		out = append(out, t)
		rest = strings.TrimSpace(rest)
		if rest != "" {
			var ok bool
			if rest, ok = strings.CutPrefix(rest, "and "); !ok {
				return nil, "want 'and' between terms, at " + strconv.Quote(rest)
			}
			rest = strings.TrimSpace(rest)
		}
	}
	return out, ""
}

// quoted reads a '...' string with \' and \\ escapes.
func quoted(s string) (val, rest, err string) {
	if !strings.HasPrefix(s, "'") {
		return "", s, "want a quoted string"
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '\'':
			return b.String(), s[i+1:], ""
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", "unterminated string"
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

var roles = map[string]bool{"owner": true, "organizer": true, "fileOrganizer": true, "writer": true, "commenter": true, "reader": true}

func (s *Server) listPermissions(w http.ResponseWriter, r *http.Request, id string) {
	f := s.files[id]
	if f == nil {
		writeError(w, http.StatusNotFound, "notFound", "File not found: "+id+".")
		return
	}
	size := 100
	if v := r.URL.Query().Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid value for pageSize: "+v)
			return
		}
		size = n
	}
	from := 0
	if v := r.URL.Query().Get("pageToken"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "p"))
		if err != nil || n < 0 || n > len(f.perms) {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid value for pageToken")
			return
		}
		from = n
	}
	to := min(len(f.perms), from+size)
	out := map[string]any{"kind": "drive#permissionList", "permissions": append([]Permission{}, f.perms[from:to]...)}
	if to < len(f.perms) {
		out["nextPageToken"] = "p" + strconv.Itoa(to)
	}
	writeJSON(w, http.StatusOK, out)
}

// createPermission adds a permission. Like the real service it needs
// type, role and (for users and groups) emailAddress; unlike it (whose
// answer to a second grant for the same address is not documented) it
// keeps a duplicate, so a client that grants twice shows it.
func (s *Server) createPermission(w http.ResponseWriter, r *http.Request, id string) {
	f := s.files[id]
	if f == nil {
		writeError(w, http.StatusNotFound, "notFound", "File not found: "+id+".")
		return
	}
	var p Permission
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	if !roles[p.Role] {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid permission role: "+p.Role)
		return
	}
	switch p.Type {
	case "user", "group":
		if !strings.Contains(p.EmailAddress, "@") {
			writeError(w, http.StatusBadRequest, "invalidSharingRequest", "Bad Request. User message: \"The email address is not valid.\"")
			return
		}
	case "domain", "anyone":
	default:
		writeError(w, http.StatusBadRequest, "invalid", "Invalid permission type: "+p.Type)
		return
	}
	if r.URL.Query().Get("sendNotificationEmail") != "false" && (p.Type == "user" || p.Type == "group") {
		s.notified++
	}
	p.ID = fmt.Sprintf("%020d", s.nextID)
	p.Kind = "drive#permission"
	s.nextID++
	f.perms = append(f.perms, p)
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) updatePermission(w http.ResponseWriter, r *http.Request, id, pid string) {
	f := s.files[id]
	if f == nil {
		writeError(w, http.StatusNotFound, "notFound", "File not found: "+id+".")
		return
	}
	var body Permission
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	for i := range f.perms {
		if f.perms[i].ID == pid {
			if body.Role != "" {
				if !roles[body.Role] {
					writeError(w, http.StatusBadRequest, "invalid", "Invalid permission role: "+body.Role)
					return
				}
				f.perms[i].Role = body.Role
			}
			writeJSON(w, http.StatusOK, f.perms[i])
			return
		}
	}
	writeError(w, http.StatusNotFound, "notFound", "Permission not found: "+pid+".")
}

// Demo folder and template IDs (SeedDemo).
const (
	DemoFolderID   = "0ADemoIncidentsFolder"
	DemoTemplateID = "1DemoIncidentTemplate"
)

// SeedDemo creates a folder and an incident template, writes the service
// account key under dir, and returns the DATASEV_GDOC_* variables that
// point a worker at this server: what the one-command demo sets.
func (s *Server) SeedDemo(dir string) (map[string]string, error) {
	s.AddFolder(DemoFolderID, "Incidents")
	s.AddDocument(DemoTemplateID, "Incident template",
		"Incident {{incident_id}}: {{incident_title}}\n"+
			"The Scribe keeps this document. datasev keeps the status and the timeline below current; write anywhere else.\n")
	key, err := s.WriteCredentials(dir)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"DATASEV_GDOC_FOLDER_ID":        DemoFolderID,
		"DATASEV_GDOC_TEMPLATE_ID":      DemoTemplateID,
		"DATASEV_GDOC_CREDENTIALS_FILE": key,
		"DATASEV_GDOC_API_URL":          s.URL,
	}, nil
}
