package slackact

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/datasev/datasev/workflows"
	"github.com/slack-go/slack"
)

func TestMrkdwn(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"**bold** and __also__", "*bold* and *also*"},
		{"*italic* and _it_", "_italic_ and _it_"},
		{"table orders_daily and stg_orders_v2", "table orders_daily and stg_orders_v2"},
		{"~~gone~~", "~gone~"},
		{"see [the run](https://airflow.example/dags/x?a=1&b=2)", "see <https://airflow.example/dags/x?a=1&amp;b=2|the run>"},
		{"<https://example.com/x?a=1&b=2> stays a link", "<https://example.com/x?a=1&amp;b=2> stays a link"},
		{"see https://github.com/acme/dbt/pull/12.", "see <https://github.com/acme/dbt/pull/12>."},
		{"`https://in.code/x`", "`https://in.code/x`"},
		// Slack's own references typed in the text are shown, not parsed.
		{"<@U123> <#C9> <!here> <!channel> <!everyone> <!subteam^S1|@team>", "&lt;@U123&gt; &lt;#C9&gt; &lt;!here&gt; &lt;!channel&gt; &lt;!everyone&gt; &lt;!subteam^S1|@team&gt;"},
		{"<http://evil.example|the runbook>", "&lt;http://evil.example|the runbook&gt;"},
		{"[https://good.example](https://evil.example)", "https://good.example (<https://evil.example>)"},
		{"[good.example/login](https://evil.example)", "good.example/login (<https://evil.example>)"},
		{"[open](javascript:alert(1))", "[open](javascript:alert(1))"},
		{"[<!here>](https://x.example)", "<https://x.example|&lt;!here&gt;>"},
		{"a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"`select * from t where a<b`", "`select * from t where a&lt;b`"},
		{"`**not bold**`", "`**not bold**`"},
		{"# Impact", "*Impact*"},
		{"### **Next** steps", "*Next steps*"},
		{"- one\n* two\n  + nested", "• one\n• two\n  • nested"},
		{"> quoted **x**", ">quoted *x*"},
		{"---", "──────────"},
		{"```sql\nselect 1 where a < 2\n**x**\n```", "```\nselect 1 where a &lt; 2\n**x**\n```"},
		{"```\nunclosed", "```\nunclosed\n```"},
		{"| model | rows |\n|---|--:|\n| orders | 12 |\n| stg_payments | 3400 |",
			"```\nmodel         rows\norders        12\nstg_payments  3400\n```"},
		{"2 * 3 * 4", "2 * 3 * 4"},
		{"**unclosed bold", "**unclosed bold"},
		{"[broken](link", "[broken](link"},
	}
	for _, c := range cases {
		if got := Mrkdwn(c.in); got != c.want {
			t.Errorf("Mrkdwn(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestSplitMrkdwn(t *testing.T) {
	code := "```\n" + strings.Repeat("select 1 from t;\n", 300) + "```"
	long := strings.Repeat("é", 7000) // one line longer than two pieces
	for name, in := range map[string]string{"code": code, "long line": long, "mixed": "intro\n" + code + "\n" + long + "\nend"} {
		pieces := splitMrkdwn(in, SectionLimit)
		if len(pieces) < 2 {
			t.Errorf("%s: not split", name)
		}
		var rebuilt strings.Builder
		for i, p := range pieces {
			if textLen(p) > SectionLimit {
				t.Errorf("%s: piece %d has %d characters", name, i, textLen(p))
			}
			if strings.Count(p, "```")%2 != 0 {
				t.Errorf("%s: piece %d leaves a code block open", name, i)
			}
			if !utf8.ValidString(p) {
				t.Errorf("%s: piece %d is not valid UTF-8", name, i)
			}
			rebuilt.WriteString(p)
		}
		// Nothing but fences and line breaks is added or lost.
		strip := strings.NewReplacer("```", "", "\n", "")
		if strip.Replace(rebuilt.String()) != strip.Replace(in) {
			t.Errorf("%s: content changed by the split", name)
		}
	}
	if got := splitMrkdwn("short", SectionLimit); len(got) != 1 || got[0] != "short" {
		t.Errorf("short text split: %q", got)
	}
}

func TestButtonValueRoundTrip(t *testing.T) {
	v := ButtonValue{Incident: "incident-alertmanager:abc/orders", Approval: "revert-1"}
	s, err := v.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if s != `{"incident":"incident-alertmanager:abc/orders","approval":"revert-1"}` {
		t.Errorf("Encode = %s", s)
	}
	got, err := ParseButtonValue(s)
	if err != nil || got != v {
		t.Fatalf("ParseButtonValue = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "null", "{}", `{"incident":"x"}`, `{"incident":"x","approval":"y","extra":1}`,
		`{"incident":"x","approval":"y"} {}`, `["x","y"]`, `{"incident":" ","approval":"y"}`,
		`{"incident":"` + strings.Repeat("x", 2100) + `","approval":"y"}`} {
		if v, err := ParseButtonValue(bad); err == nil {
			t.Errorf("ParseButtonValue(%.60q) = %+v, want an error", bad, v)
		}
	}
	if _, err := (ButtonValue{Incident: "x"}).Encode(); err == nil {
		t.Error("Encode without approval succeeded")
	}
}

func TestOutcomeBlocks(t *testing.T) {
	blocks := OutcomeBlocks(ButtonValue{Incident: "incident-x", Approval: "a1"}, "Approved by <@U1> & run")
	if len(blocks) != 2 {
		t.Fatalf("%d blocks", len(blocks))
	}
	s, ok := blocks[0].(*slack.SectionBlock)
	if !ok || s.BlockID != OutcomeBlockID || s.Text.Text != "Approved by &lt;@U1&gt; &amp; run" {
		t.Errorf("outcome section = %+v", blocks[0])
	}
	c, ok := blocks[1].(*slack.ContextBlock)
	if !ok || !strings.Contains(c.ContextElements.Elements[0].(*slack.TextBlockObject).Text, "incident-x") {
		t.Errorf("context = %+v", blocks[1])
	}
}

var slackRef = regexp.MustCompile(`<[^<>]*>`)

func FuzzMrkdwn(f *testing.F) {
	for _, s := range []string{"**b** _i_ `c` [l](http://x)", "| a | b |\n|---|---|\n| 1 | 2 |", "```go\nx<y\n", "# h\n- l\n> q",
		"a_b_c *x* ~~s~~ <http://u> <@U1> &", strings.Repeat("**", 50), "<!channel> [x](https://a.b) https://c.d/e."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		out := Mrkdwn(md)
		if utf8.ValidString(md) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from valid input %q", md)
		}
		// No mention, broadcast or channel reference survives.
		if m := regexp.MustCompile(`<[!@#]`).FindString(out); m != "" {
			t.Fatalf("live reference %q in %q (from %q)", m, out, md)
		}
		// Every < and > in the output belongs to a Slack link.
		// (A > opening a line is a quote.)
		var unquoted []string
		for _, l := range strings.Split(out, "\n") {
			unquoted = append(unquoted, strings.TrimPrefix(l, ">"))
		}
		if rest := slackRef.ReplaceAllString(strings.Join(unquoted, "\n"), ""); strings.ContainsAny(rest, "<>") {
			t.Fatalf("stray angle bracket in %q (from %q)", out, md)
		}
		// Every & is an escape.
		for i := strings.IndexByte(out, '&'); i >= 0; {
			tail := out[i:]
			if !strings.HasPrefix(tail, "&amp;") && !strings.HasPrefix(tail, "&lt;") && !strings.HasPrefix(tail, "&gt;") {
				t.Fatalf("bare & in %q (from %q)", out, md)
			}
			j := strings.IndexByte(out[i+1:], '&')
			if j < 0 {
				break
			}
			i += 1 + j
		}
		if strings.Count(out, "```")%2 != 0 && !strings.Contains(md, "```") {
			t.Fatalf("unbalanced fences in %q (from %q)", out, md)
		}
		for _, p := range splitMrkdwn(out, SectionLimit) {
			if textLen(p) > SectionLimit {
				t.Fatalf("piece of %d characters", textLen(p))
			}
		}
		// Text with nothing Markdown or Slack treats specially is kept.
		if !strings.ContainsAny(md, "*_`~[]<>&|#->+\r") && !strings.Contains(md, "\n ") && !strings.Contains(md, "://") && utf8.ValidString(md) {
			if out != md {
				t.Fatalf("plain %q became %q", md, out)
			}
		}
	})
}

func FuzzParseButtonValue(f *testing.F) {
	f.Add(`{"incident":"incident-x","approval":"a"}`)
	f.Add(`{"incident":"","approval":"a"}`)
	f.Add(`{"incident":"x","approval":"a"}garbage`)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseButtonValue(s)
		if err != nil {
			return
		}
		if strings.TrimSpace(v.Incident) == "" || strings.TrimSpace(v.Approval) == "" {
			t.Fatalf("accepted empty field: %q → %+v", s, v)
		}
		enc, err := v.Encode()
		if err != nil {
			t.Fatalf("accepted %q but cannot encode %+v: %v", s, v, err)
		}
		back, err := ParseButtonValue(enc)
		if err != nil || back != v {
			t.Fatalf("round trip of %+v: %+v, %v", v, back, err)
		}
	})
}

func BenchmarkComposeLongBody(b *testing.B) {
	var body strings.Builder
	for i := range 200 {
		body.WriteString("| **model** | `rows` | [run](https://x/" + strings.Repeat("a", i%9) + ") |\n")
		body.WriteString("Some **finding** about orders_daily & stg_payments.\n")
	}
	text := body.String()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := compose(notifyPost(text), ""); err != nil {
			b.Fatal(err)
		}
	}
}

func notifyPost(body string) workflows.Notification {
	return workflows.Notification{Kind: workflows.NotifyPost, Incident: "incident-bench", Severity: "SEV3", Subject: "bench", Body: body}
}

func FuzzSplitMrkdwn(f *testing.F) {
	f.Add("```\nabc def ghi\n```\nxyz", uint8(20))
	f.Add(strings.Repeat("é", 100), uint8(16))
	f.Fuzz(func(t *testing.T, s string, limit uint8) {
		n := 16 + int(limit)
		for i, p := range splitMrkdwn(s, n) {
			if textLen(p) > n {
				t.Fatalf("piece %d has %d characters, limit %d", i, textLen(p), n)
			}
		}
	})
}
