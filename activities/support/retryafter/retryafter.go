// Package retryafter reads the HTTP Retry-After header (RFC 9110
// §10.2.3) for the clients of the actions and lifecycle activities, so
// that each turns a server's "come back later" into a retry delay the
// same way: one parser, one set of tests.
//
// It depends on the standard library only.
package retryafter

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxSeconds is the largest delta-seconds that fits in a time.Duration.
const maxSeconds = int64(math.MaxInt64 / int64(time.Second))

// Parse is the wait a Retry-After header value asks for: delta-seconds
// ("120") or an HTTP date ("Fri, 31 Dec 1999 23:59:59 GMT", or either
// obsolete form http.ParseTime reads) measured from now. It is 0 when v
// is empty, unreadable, negative or a date not after now. A number of
// seconds too large for a time.Duration gives the largest Duration, never
// a wrapped-around negative one; callers cap it (see Bound).
func Parse(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// ErrRange: n is ±MaxInt64, the sign of the digits.
		switch {
		case n <= 0:
			return 0
		case n > maxSeconds:
			return time.Duration(math.MaxInt64)
		default:
			return time.Duration(n) * time.Second
		}
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Bound is d held within [lo, hi]: lo when d is below it, hi when d is
// above it. A caller that retries at least a second later and at most
// its cap later passes Bound(d, time.Second, cap).
func Bound(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}
