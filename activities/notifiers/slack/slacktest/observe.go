package slacktest

import "time"

// Post is a message as the server accepted it, handed to an observer.
type Post struct {
	// Message is a copy of the message as recorded (its Blocks and Params
	// are shared with the server's record: read them only).
	Message
	// Conversation is the conversation it was posted in, as it was then
	// (IsIM and User tell a DM and its recipient).
	Conversation Channel
	// At is when the server accepted it.
	At time.Time
}

// Observe adds f to the observers of chat.postMessage: f is called with
// every message the server accepts, in the order accepted (not with calls
// that failed). f runs on the request's goroutine with the server's lock
// held, before the answer is written: it must return quickly and must not
// call the Server's methods.
func (s *Server) Observe(f func(Post)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observers = append(s.observers, f)
}

// notify hands a just-accepted message to the observers; s.mu is held.
func (s *Server) notify(c *channel, m *Message) {
	if len(s.observers) == 0 {
		return
	}
	p := Post{Message: *m, Conversation: c.copy(), At: time.Now()}
	for _, f := range s.observers {
		f(p)
	}
}

// CallCounts returns how many calls of each method the server answered
// (faults included), by method.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}
