package slacktest

import (
	"encoding/json"
	"strconv"
)

// maxHistoryLimit is the most messages conversations.history returns in
// one page.
const maxHistoryLimit = 999

// history serves conversations.history as Slack answers a bot token: the
// conversation's messages newest first, only in conversations the bot is a
// member of (not_in_channel otherwise), bounded by oldest and latest
// (exclusive unless inclusive is set), limit messages a page (default 100)
// with has_more and a response_metadata.next_cursor, and each message's
// metadata ({"event_type","event_payload"}) only when include_all_metadata
// is set.
func (s *Server) history(p params) (obj, error) {
	c, err := s.lookup(p["channel"])
	if err != nil {
		return nil, err
	}
	if !c.isMember(BotUserID) {
		return nil, fail("not_in_channel")
	}
	limit, start, err := page(p, "history:", maxHistoryLimit)
	if err != nil {
		return nil, err
	}
	oldest, latest := -1.0, -1.0
	for _, b := range []struct {
		name string
		dst  *float64
	}{{"oldest", &oldest}, {"latest", &latest}} {
		if v := p[b.name]; v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fail("invalid_ts_" + b.name)
			}
			*b.dst = f
		}
	}
	inclusive := p["inclusive"] == "1" || p["inclusive"] == "true"
	withMeta := p["include_all_metadata"] == "1" || p["include_all_metadata"] == "true"

	msgs := s.messages[c.ID]
	var matched []*Message
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		ts, _ := strconv.ParseFloat(m.TS, 64)
		if oldest >= 0 && (ts < oldest || (ts == oldest && !inclusive)) {
			continue
		}
		if latest >= 0 && (ts > latest || (ts == latest && !inclusive)) {
			continue
		}
		matched = append(matched, m)
	}
	start = min(start, len(matched))
	end := min(start+limit, len(matched))
	out := make([]obj, 0, end-start)
	for _, m := range matched[start:end] {
		o := messageJSON(m)
		o["team"] = TeamID
		if withMeta && len(m.Metadata) > 0 {
			var md obj
			if json.Unmarshal(m.Metadata, &md) == nil {
				o["metadata"] = md
			}
		}
		out = append(out, o)
	}
	resp := obj{"messages": out, "has_more": end < len(matched), "pin_count": 0}
	if end < len(matched) {
		resp["response_metadata"] = obj{"next_cursor": cursor("history:", end)}
	}
	return resp, nil
}
