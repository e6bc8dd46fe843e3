package actiontest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

// probe records failures instead of failing the test, so the assertions
// themselves can be checked.
type probe struct {
	testing.TB
	failed bool
}

func (p *probe) Helper()               {}
func (p *probe) Errorf(string, ...any) { p.failed = true }
func (p *probe) Fatalf(string, ...any) { p.failed = true; panic(p) }
func (p *probe) Fatal(...any)          { p.failed = true; panic(p) }

// fails reports whether check failed on a probe.
func fails(check func(t testing.TB)) (failed bool) {
	p := &probe{}
	defer func() {
		if r := recover(); r != nil && r != p {
			panic(r)
		}
		failed = p.failed
	}()
	check(p)
	return p.failed
}

func TestAssertionsCanFail(t *testing.T) {
	bad := temporal.NewNonRetryableApplicationError("repo acme/x not found", "NotFound", nil)
	slow := temporal.NewApplicationErrorWithOptions("rate limited", "RateLimited", temporal.ApplicationErrorOptions{NextRetryDelay: 30 * time.Second})
	plain := fmt.Errorf("dial tcp: %w", errors.New("connection refused"))
	for name, c := range map[string]struct {
		check func(t testing.TB)
		fail  bool
	}{
		"non-retryable ok":           {func(t testing.TB) { NonRetryable(t, bad, "NotFound", "acme/x") }, false},
		"non-retryable wrong type":   {func(t testing.TB) { NonRetryable(t, bad, "Other") }, true},
		"non-retryable wrong words":  {func(t testing.TB) { NonRetryable(t, bad, "NotFound", "acme/y") }, true},
		"non-retryable of retryable": {func(t testing.TB) { NonRetryable(t, slow, "RateLimited") }, true},
		"non-retryable of plain":     {func(t testing.TB) { NonRetryable(t, plain, "NotFound") }, true},
		"retryable plain":            {func(t testing.TB) { Retryable(t, plain, "refused") }, false},
		"retryable of non-retryable": {func(t testing.TB) { Retryable(t, bad) }, true},
		"retryable of nil":           {func(t testing.TB) { Retryable(t, nil) }, true},
		"delay ok":                   {func(t testing.TB) { RetryDelay(t, slow, 30*time.Second) }, false},
		"delay wrong":                {func(t testing.TB) { RetryDelay(t, slow, time.Second) }, true},
		"delay of plain":             {func(t testing.TB) { RetryDelay(t, plain, time.Second) }, true},
		"no delay of plain":          {func(t testing.TB) { RetryDelay(t, plain, 0) }, false},
	} {
		if got := fails(c.check); got != c.fail {
			t.Errorf("%s: failed %v, want %v", name, got, c.fail)
		}
	}
}
