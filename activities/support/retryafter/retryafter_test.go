package retryafter_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/support/retryafter"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, time.March, 14, 9, 26, 53, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	for _, tc := range []struct {
		name, v string
		want    time.Duration
	}{
		{"empty", "", 0},
		{"blank", "   ", 0},
		{"seconds", "120", 2 * time.Minute},
		{"seconds with spaces", " 7\t", 7 * time.Second},
		{"zero seconds", "0", 0},
		{"plus sign", "+5", 5 * time.Second},
		{"negative seconds", "-5", 0},
		{"fractional seconds", "1.5", 0},
		{"garbage", "soon", 0},
		{"seconds then garbage", "10s", 0},
		{"huge seconds", "99999999999999", time.Duration(math.MaxInt64)},
		{"largest seconds that fit", "9223372036", 9223372036 * time.Second},
		{"one past the largest that fit", "9223372037", time.Duration(math.MaxInt64)},
		{"seconds beyond int64", "99999999999999999999999", time.Duration(math.MaxInt64)},
		{"negative beyond int64", "-99999999999999999999999", 0},
		{"date in the future", date(90 * time.Second), 90 * time.Second},
		{"date now", date(0), 0},
		{"date in the past", date(-time.Hour), 0},
		{"date far in the future", "Fri, 31 Dec 9999 23:59:59 GMT", time.Duration(math.MaxInt64)},
		{"RFC 850 date", now.Add(time.Hour).Format("Monday, 02-Jan-06 15:04:05 GMT"), time.Hour},
		{"asctime date", now.Add(time.Minute).Format(time.ANSIC), time.Minute},
		{"date not in GMT", now.Add(time.Hour).Format(time.RFC1123Z), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryafter.Parse(tc.v, now); got != tc.want {
				t.Errorf("Parse(%q) = %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}

func TestBound(t *testing.T) {
	const lo, hi = time.Second, 15 * time.Minute
	for _, tc := range []struct {
		d, want time.Duration
	}{
		{0, lo},
		{-time.Hour, lo},
		{500 * time.Millisecond, lo},
		{lo, lo},
		{time.Minute, time.Minute},
		{hi, hi},
		{time.Hour, hi},
		{time.Duration(math.MaxInt64), hi},
	} {
		if got := retryafter.Bound(tc.d, lo, hi); got != tc.want {
			t.Errorf("Bound(%v, %v, %v) = %v, want %v", tc.d, lo, hi, got, tc.want)
		}
	}
	// Bound(d, 0, hi) of a parsed wait is min(d, hi): no floor.
	if got := retryafter.Bound(retryafter.Parse("99999999999999", time.Time{}), 0, 10*time.Minute); got != 10*time.Minute {
		t.Errorf("a huge Retry-After bounded to 10m = %v", got)
	}
}
