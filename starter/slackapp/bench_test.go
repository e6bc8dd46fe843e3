package slackapp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkParseCommand(b *testing.B) {
	for b.Loop() {
		if _, err := parseCommand("@orders-load-failed role sme <@U0BOB|bob>"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	body := slashForm(slackAlice, otherChannel, "ack", "trig-1", "http://127.0.0.1/response/1")
	hdr := http.Header{}
	for k, v := range sign(signingKey, time.Now(), body) {
		hdr.Set(k, v)
	}
	for b.Loop() {
		if why := verify(hdr, body, signingKey, time.Now()); why != "" {
			b.Fatal(why)
		}
	}
}

func BenchmarkDecodeInteraction(b *testing.B) {
	payload := blockActions(slackAlice, "trig-1", "http://127.0.0.1/response/1", "datasev_approve", `{"incident":"incident-k","approval":"a1"}`)
	for b.Loop() {
		if _, err := decodeInteraction(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHelpRoundTrip is a signed /incident help through the handler:
// body limit, signature, form parsing, dispatch and the JSON answer.
func BenchmarkHelpRoundTrip(b *testing.B) {
	slk := newSlackStandIn(b)
	h := newTestHandler(b, slk, nil)
	body := slashForm(slackAlice, otherChannel, "help", "trig-1", slk.responseURL())
	hdr := sign(signingKey, time.Now(), body)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/slack/commands", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
