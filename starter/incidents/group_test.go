package incidents

import (
	"strings"
	"testing"
	"unicode"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
)

func byLabels(names ...string) *runbooks.Runbook {
	return &runbooks.Runbook{Name: "loads", GroupBy: runbooks.GroupBy{By: runbooks.GroupByLabels, Labels: names}}
}

func labelled(labels map[string]string) workflows.Alert {
	return workflows.Alert{Source: "alertmanager", Title: "t", DedupeKey: "alertmanager:x:1", Labels: labels}
}

// checkKey: a key Declare builds passes the dedupe key check and its group
// is printable and bounded.
func checkKey(t *testing.T, what string, g grouped) {
	t.Helper()
	if err := CheckDedupeKey(g.key); err != nil {
		t.Errorf("%s: key %q: %v", what, g.key, err)
	}
	if len(g.group) > workflows.MaxTitleLen || strings.IndexFunc(g.group, unicode.IsControl) >= 0 || !strings.Contains(g.group, " ") {
		t.Errorf("%s: group %q: want printable, at most %d bytes", what, g.group, workflows.MaxTitleLen)
	}
	a := workflows.Alert{Source: "x", Title: "t", DedupeKey: g.key, Member: "alertmanager:x:1", Group: g.group}
	if err := a.Validate(); err != nil {
		t.Errorf("%s: the grouped alert does not validate: %v", what, err)
	}
}

// TestGroupKeyByLabels: one key per set of values, whatever the values
// hold; a missing label is the empty value; values the key alphabet maps
// alike still key apart (the hash covers the values themselves).
func TestGroupKeyByLabels(t *testing.T) {
	rb := byLabels("dataset", "env")
	orders := groupOf(rb, labelled(map[string]string{"dataset": "orders", "env": "prod", "pod": "a"}), "")
	checkKey(t, "orders", orders)
	if !strings.HasPrefix(orders.key, "group:alertmanager:loads:orders.prod:") || orders.group != "labels dataset=orders env=prod" {
		t.Errorf("orders: %+v", orders)
	}
	if again := groupOf(rb, labelled(map[string]string{"pod": "b", "env": "prod", "dataset": "orders"}), ""); again != orders {
		t.Errorf("same values, other labels: %+v, want %+v", again, orders)
	}
	if other := groupOf(rb, labelled(map[string]string{"dataset": "events", "env": "prod"}), ""); other.key == orders.key {
		t.Errorf("another dataset has the same key %q", other.key)
	}
	// "a b" and "a_b" read alike in the key, but are different groups.
	if x, y := groupOf(rb, labelled(map[string]string{"dataset": "a b"}), ""), groupOf(rb, labelled(map[string]string{"dataset": "a_b"}), ""); x.key == y.key {
		t.Errorf("%q and %q share key %q", "a b", "a_b", x.key)
	}
	// Values are not shifted between labels: (ab, "") is not (a, b).
	if x, y := groupOf(rb, labelled(map[string]string{"dataset": "ab"}), ""), groupOf(rb, labelled(map[string]string{"dataset": "a", "env": "b"}), ""); x.key == y.key {
		t.Errorf("shifted values share key %q", x.key)
	}
	missing := groupOf(rb, labelled(map[string]string{"env": "prod"}), "")
	empty := groupOf(rb, labelled(map[string]string{"dataset": "", "env": "prod"}), "")
	if missing != empty || missing.group != "labels dataset= env=prod" {
		t.Errorf("missing label %+v, empty value %+v: want the same group", missing, empty)
	}
	// Another source's alert with the same values has its own group.
	gen := labelled(map[string]string{"dataset": "orders", "env": "prod"})
	gen.Source = "airflow"
	if g := groupOf(rb, gen, ""); g.key == orders.key {
		t.Errorf("another source joins the group %q", g.key)
	}
}

// TestGroupKeyHostileValues: huge values and control characters still make
// a valid, bounded key and a printable group.
func TestGroupKeyHostileValues(t *testing.T) {
	huge := strings.Repeat("\x00\n\r\t\u202e\u0085é/|`<>", 100)[:1024]
	long := strings.Repeat("n", 100)
	rb := byLabels("dataset", long)
	rb.Name = strings.Repeat("r", 100)
	a := labelled(map[string]string{"dataset": huge, long: huge + "x"})
	a.Source = strings.Repeat("s\x01", 32)
	g := groupOf(rb, a, "")
	checkKey(t, "huge", g)
	if len(g.key) > workflows.MaxDedupeKeyLen {
		t.Errorf("key of %d bytes", len(g.key))
	}
	b := a
	b.Labels = map[string]string{"dataset": huge, long: huge + "y"} // differs only past the readable part
	if h := groupOf(rb, b, ""); h.key == g.key {
		t.Errorf("values differing at the end share key %q", g.key)
	}
	am := groupOf(&runbooks.Runbook{Name: "r", GroupBy: runbooks.GroupBy{By: runbooks.GroupByAlertmanagerGroup}}, a, "{}/{x=\"\x00"+huge+huge+"\"}:{dataset=\"orders\"}")
	checkKey(t, "alertmanager group", am)
	if !strings.HasPrefix(am.key, "amgroup:r:") || !strings.HasPrefix(am.group, "alertmanager group {}/{x=") {
		t.Errorf("alertmanager group: %+v", am)
	}
	if s := StormKey(a.Source + huge); CheckDedupeKey(s) != nil || len(s) > len("storm:")+32 {
		t.Errorf("storm key %q", s)
	}
}

// TestGroupKeyModes: per alert, and Alertmanager grouping without a
// groupKey (another sender), keep the alert's own incident.
func TestGroupKeyModes(t *testing.T) {
	a := labelled(map[string]string{"dataset": "orders"})
	for _, rb := range []*runbooks.Runbook{nil, {Name: "r"}, {Name: "r", GroupBy: runbooks.GroupBy{By: runbooks.GroupByAlert}},
		{Name: "r", GroupBy: runbooks.GroupBy{By: runbooks.GroupByAlertmanagerGroup}}} {
		if g := groupOf(rb, a, ""); g != (grouped{}) {
			t.Errorf("%+v: grouped %+v, want the alert's own incident", rb, g)
		}
	}
	am := &runbooks.Runbook{Name: "r", GroupBy: runbooks.GroupBy{By: runbooks.GroupByAlertmanagerGroup}}
	x, y := groupOf(am, a, "{}:{alertname=\"A\"}"), groupOf(am, a, "{}:{alertname=\"B\"}")
	if x.key == y.key || x != groupOf(am, labelled(nil), "{}:{alertname=\"A\"}") {
		t.Errorf("alertmanager groups: %+v %+v; want one key per groupKey, whatever the alert", x, y)
	}
}
