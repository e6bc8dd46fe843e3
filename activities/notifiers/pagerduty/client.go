package pagerdutyact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/datasev/datasev/activities/support/retryafter"
)

// maxErrorBody bounds the bytes of an error answer kept for its message.
const maxErrorBody = 4 << 10

// sender sends one Events API v2 event.
type sender interface {
	send(ctx context.Context, ev *pd.V2Event) error
}

// eventsClient sends events with go-pagerduty's Client, pointed at the
// configured endpoint (WithV2EventsAPIEndpoint). The Client's method
// decodes an error answer as the REST API's ({"error":{…}}), which the
// Events API does not send ({"status","message","errors"}), and drops the
// response with its Retry-After; the package-level ManageEventWithContext
// reads the Events API's errors but always posts to events.pagerduty.com
// through http.DefaultClient. So the Client's HTTPClient is a capture:
// for each call it keeps the status, Retry-After and (at most
// maxErrorBody bytes of) an error answer, found through the request's
// context, and the error is built from them.
type eventsClient struct {
	c *pd.Client
}

// newEventsClient returns a client for the Events API at base.
func newEventsClient(base string, hc *http.Client) *eventsClient {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	c := pd.NewClient("", pd.WithV2EventsAPIEndpoint(base))
	c.HTTPClient = capturing{hc}
	return &eventsClient{c: c}
}

// capture is one call's answer.
type capture struct {
	status     int
	retryAfter string
	body       []byte
}

type captureKey struct{}

// capturing is the HTTPClient that fills the request's capture.
type capturing struct{ hc *http.Client }

func (c capturing) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(r)
	cp, _ := r.Context().Value(captureKey{}).(*capture)
	if err != nil || cp == nil {
		return resp, err
	}
	cp.status = resp.StatusCode
	cp.retryAfter = resp.Header.Get("Retry-After")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		cp.body = b
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

// APIError is an event the Events API refused.
type APIError struct {
	// Status is the HTTP status: 400 (the event is invalid), 429 (rate
	// limited), 5xx.
	Status int
	// Message and Errors are the API's own words.
	Message string
	Errors  []string
	// RetryAfter is the wait a 429 or 5xx asked for; 0 when none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("pagerduty events API: HTTP %d", e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if len(e.Errors) > 0 {
		s += ": " + strings.Join(e.Errors, "; ")
	}
	return s
}

// RateLimited reports a 429.
func (e *APIError) RateLimited() bool { return e.Status == http.StatusTooManyRequests }

// Temporary reports an error a later attempt may not meet: 429, 408, 5xx.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

func (c *eventsClient) send(ctx context.Context, ev *pd.V2Event) error {
	cp := &capture{}
	res, err := c.c.ManageEventWithContext(context.WithValue(ctx, captureKey{}, cp), ev)
	if err == nil {
		if res == nil || !strings.EqualFold(res.Status, "success") {
			msg := "no answer"
			if res != nil {
				msg = fmt.Sprintf("status %q: %s", res.Status, res.Message)
			}
			return fmt.Errorf("pagerduty events API: %s", msg)
		}
		return nil
	}
	if cp.status == 0 {
		return fmt.Errorf("pagerduty events API: %w", err)
	}
	ae := &APIError{Status: cp.status, RetryAfter: retryafter.Parse(cp.retryAfter, time.Now())}
	var body struct {
		Status  string   `json:"status"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	if json.Unmarshal(cp.body, &body) == nil {
		ae.Message = strings.TrimSpace(strings.Join(nonEmpty(body.Status, body.Message), ": "))
		ae.Errors = body.Errors
	} else if t := strings.TrimSpace(string(cp.body)); t != "" {
		ae.Message = oneLine(t, 200)
	}
	return ae
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// asAPIError returns err's APIError.
func asAPIError(err error) (*APIError, bool) {
	var ae *APIError
	ok := errors.As(err, &ae)
	return ae, ok
}
