package yamlpos

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/token"
)

// The YAML library's syntax error messages this file refines. Should a new
// version of the library word them differently, its errors stay where the
// parser puts them (and the runbooks package's tests of mistake positions
// fail).
const (
	msgMappingValue    = "mapping value is not allowed in this context"
	msgFlowMappingNext = "',' or '}' must be specified"
	msgFlowSeqNext     = "',' or ']' must be specified"
	msgTab             = "found character '\t' that cannot start any token"
	msgOpenDouble      = "could not find end character of double-quoted text"
	msgOpenSingle      = "could not find end character of single-quoted text"
	msgFlowContent     = "could not find flow map content"
	msgNonMap          = "non-map value is specified"
)

// SyntaxPos is where a person must edit to fix the syntax error the YAML
// parser reported at token tk with message msg, and the message to show
// there. The parser reports some mistakes at the token it was reading when
// it gave up, which can be on the line before the mistake (a key indented
// too far reads as more of the value above it) or after it (an unclosed
// flow mapping); SyntaxPos moves those to the line to edit and says what
// happened. Other errors stay where the parser put them.
func (d *Doc) SyntaxPos(tk *token.Token, msg string) (Pos, string) {
	p := TokenPos(tk)
	if tk == nil {
		return p, msg
	}
	if qp, m, ok := d.runawayQuote(tk, p, msg); ok {
		return qp, m
	}
	switch {
	case msg == msgMappingValue && tk.Type == token.StringType:
		if kp, m, ok := d.overIndentedKey(p); ok {
			return kp, m
		}
	case msg == msgFlowMappingNext || msg == msgFlowSeqNext || msg == msgFlowContent:
		if fp, m, ok := d.unclosedFlow(tk, p, msg); ok {
			return fp, m
		}
	case msg == msgTab:
		return p, `found character '\t' that cannot start any token: a tab; YAML indents with spaces only`
	case msg == msgOpenDouble || msg == msgOpenSingle:
		return p, msg + ": the quote that opens here is not closed"
	}
	return p, msg
}

// overIndentedKey handles a key indented more than the keys of its mapping:
//
//	steps:
//	  - id: a
//	      check: {...}
//
// The parser reads "a check" as one plain value going on over two lines,
// then finds the colon and reports it at the value's start, the line above
// the mistake. The key is the value's last line: the first colon that ends
// a plain scalar (followed by a blank or the end of a line) is on it.
func (d *Doc) overIndentedKey(value Pos) (Pos, string, bool) {
	so := d.posOffset(value)
	if so < 0 {
		return Pos{}, "", false
	}
	colon := so
	for ; colon < len(d.src); colon++ {
		if d.src[colon] == ':' && (colon+1 == len(d.src) || isBlank(d.src[colon+1])) {
			break
		}
	}
	cp := d.OffsetPos(colon)
	if colon == len(d.src) || cp.Line == value.Line {
		return Pos{}, "", false
	}
	line := d.line(cp.Line)
	indent := len(line) - len(bytes.TrimLeft(line, " "))
	key := strings.TrimSpace(string(d.src[d.lines[cp.Line-1]+indent : colon]))
	first := strings.TrimSpace(string(d.line(value.Line)[d.posOffset(value)-d.lines[value.Line-1]:]))
	kp := Pos{cp.Line, utf8.RuneCount(line[:indent]) + 1}
	return kp, fmt.Sprintf("%s: %q is indented more than the key above it, so YAML reads it as more of the value %q on line %d; line it up with the keys of its mapping",
		msgMappingValue, key, shorten(first), value.Line), true
}

// unclosedFlow handles a flow mapping or list left open:
//
//	steps:
//	  - id: a
//	    check: {action: core.wait
//	  - id: b
//
// The parser reports the first token of the next line, where it wanted a
// ',' or the closing bracket. The place to edit is after the token before
// it, on the line above.
func (d *Doc) unclosedFlow(tk *token.Token, p Pos, msg string) (Pos, string, bool) {
	prev := prevToken(tk)
	if prev == nil || TokenPos(prev).Line >= p.Line {
		return Pos{}, "", false
	}
	what := fmt.Sprintf("%s after %q", msg, shorten(prev.Value))
	if open := unclosedOpener(prev); open != nil {
		what += fmt.Sprintf(": the %q at %d:%d is not closed", open.Value, TokenPos(open).Line, TokenPos(open).Column)
	}
	return d.tokenEnd(prev), what, true
}

// tokenEnd is the position just after a token's text, or its start when
// the text is not found where the token says.
func (d *Doc) tokenEnd(tk *token.Token) Pos {
	p := TokenPos(tk)
	so := d.posOffset(p)
	if so < 0 || so >= len(d.src) {
		return p
	}
	end := -1
	switch {
	case tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType:
		if d.src[so] == '"' || d.src[so] == '\'' {
			if c := closingQuote(d.src, so); c >= 0 {
				end = c + 1
			}
		}
	case bytes.HasPrefix(d.src[so:], []byte(tk.Value)):
		end = so + len(tk.Value)
	}
	if end < 0 {
		return p
	}
	return d.OffsetPos(end)
}

// runawayQuote handles a quoted value whose closing quote is missing:
//
//	description: "unclosed
//	check: {action: "core.wait"}
//
// The value runs on to the next quote, on a later line, and the parser
// reports what follows it there. The place to edit is the line the value
// opens on. Only "not allowed in this context" errors on the line the
// value closes on are taken for this.
func (d *Doc) runawayQuote(tk *token.Token, p Pos, msg string) (Pos, string, bool) {
	if !strings.Contains(msg, "not allowed in this context") && msg != msgNonMap {
		return Pos{}, "", false
	}
	prev := prevToken(tk)
	if prev == nil || (prev.Type != token.DoubleQuoteType && prev.Type != token.SingleQuoteType) {
		return Pos{}, "", false
	}
	qp := TokenPos(prev)
	open := d.posOffset(qp)
	if open < 0 || open >= len(d.src) || (d.src[open] != '"' && d.src[open] != '\'') {
		return Pos{}, "", false
	}
	end := closingQuote(d.src, open)
	if end < 0 || d.OffsetPos(end).Line != p.Line || p.Line == qp.Line {
		return Pos{}, "", false
	}
	return qp, fmt.Sprintf("%s (at %d:%d): the quoted value that opens here runs on to line %d, where the next quote closes it; is its closing quote missing on this line?",
		msg, p.Line, p.Column, p.Line), true
}

// closingQuote is the offset of the quote that closes the one at open, or
// -1. An escaped quote (after a backslash in double quotes, doubled in
// single quotes) does not close.
func closingQuote(src []byte, open int) int {
	q := src[open]
	for i := open + 1; i < len(src); i++ {
		switch {
		case q == '"' && src[i] == '\\':
			i++
		case src[i] == q && q == '\'' && i+1 < len(src) && src[i+1] == '\'':
			i++
		case src[i] == q:
			return i
		}
	}
	return -1
}

// prevToken is the token before tk, comments left out.
func prevToken(tk *token.Token) *token.Token {
	for t := tk.Prev; t != nil; t = t.Prev {
		if t.Type != token.CommentType {
			return t
		}
	}
	return nil
}

// unclosedOpener is the innermost '{' or '[' still open at token tk
// (included).
func unclosedOpener(tk *token.Token) *token.Token {
	depth := 0
	for t := tk; t != nil; t = t.Prev {
		switch t.Type {
		case token.MappingEndType, token.SequenceEndType:
			depth++
		case token.MappingStartType, token.SequenceStartType:
			if depth == 0 {
				return t
			}
			depth--
		}
	}
	return nil
}

// shorten cuts text for a message to 40 characters.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:39]) + "…"
}
