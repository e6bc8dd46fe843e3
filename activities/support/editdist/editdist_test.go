package editdist_test

import (
	"testing"

	"github.com/datasev/datasev/activities/support/editdist"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"", "", 10, 0},
		{"orders", "orders", 10, 0},
		{"", "abc", 10, 3},
		{"kitten", "sitting", 10, 3},
		{"ordres", "orders", 10, 2},
		{"stg_orders", "stg_order", 10, 1},
		// Over the limit: limit+1, whether the lengths alone tell or a
		// whole row of the table does.
		{"a", "abcdef", 2, 3},
		{"abcdef", "uvwxyz", 2, 3},
		// At the limit: exact.
		{"kitten", "sitting", 3, 3},
	} {
		if got := editdist.Distance(c.a, c.b, c.limit); got != c.want {
			t.Errorf("Distance(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
		}
		if got := editdist.Distance(c.b, c.a, c.limit); got != c.want {
			t.Errorf("Distance(%q, %q, %d) = %d, want %d (not symmetric)", c.b, c.a, c.limit, got, c.want)
		}
	}
}
