package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives slash commands and button clicks over a Socket
// Mode websocket (apps.connections.open with the app-level token) until
// ctx ends, and handles them exactly as the HTTP routes do. A slash command
// is acknowledged with its answer as the ack's payload (the outcome, or
// "working on it…" and the outcome later at the response_url); a button
// click is acknowledged at once and its outcome goes to the response_url.
// Slack authenticates the websocket, so no signing secret is involved. It
// returns nil when ctx ends, and an error when the connection cannot be
// opened (a bad app token, say).
func (h *Handler) RunSocketMode(ctx context.Context) error {
	if h.cfg.AppToken == "" {
		return fmt.Errorf("slackapp: Socket Mode needs an app-level token (%s)", EnvAppToken)
	}
	api := slack.New(h.cfg.BotToken, h.slackOptions()...)
	sm := socketmode.New(api, socketmode.OptionLog(slog.NewLogLogger(h.log.Handler(), slog.LevelDebug)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
				return nil
			}
			return fmt.Errorf("slackapp: socket mode: %w", err)
		case evt := <-sm.Events:
			h.socketEvent(ctx, sm, evt)
		}
	}
}

// socketEvent handles one Socket Mode event.
func (h *Handler) socketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		h.log.Info("slack: socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeInvalidAuth:
		h.log.Warn("slack: socket mode", "event", evt.Type, "data", evt.Data)
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		req := *evt.Request
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			if err := sm.AckCtx(ctx, req.EnvelopeID, h.answerCommand(sc)); err != nil {
				h.log.Error("slack: socket mode ack failed", "error", err)
			}
		}()
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return
		}
		if err := sm.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
			h.log.Error("slack: socket mode ack failed", "error", err)
		}
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			return
		}
		h.startPress(pressFrom(cb))
	case socketmode.EventTypeEventsAPI:
		h.socketEventsAPI(ctx, sm, evt.Request)
	}
}
