package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by CoalesceOptionsFromEnv. Each may be "off".
const (
	// EnvPageBurst is how many pages one person gets at once before the
	// rest are gathered into digests (default DefaultPageBurst); "off"
	// delivers every page at once.
	EnvPageBurst = "DATASEV_NOTIFY_PAGE_BURST"
	// EnvPageWindow is how often a person gets one more delivery, a page
	// or a digest, once the burst is spent (default DefaultPageWindow, at
	// most MaxPageWindow).
	EnvPageWindow = "DATASEV_NOTIFY_PAGE_WINDOW"
	// EnvPostBurst is how many posts one incident channel gets at once
	// before the rest are batched (default DefaultPostBurst); "off"
	// posts every one at once.
	EnvPostBurst = "DATASEV_NOTIFY_POST_BURST"
	// EnvPostInterval is how often a channel gets one more message once
	// the burst is spent (default DefaultPostInterval).
	EnvPostInterval = "DATASEV_NOTIFY_POST_INTERVAL"
)

// CoalesceOptionsFromEnv reads the DATASEV_NOTIFY_* variables through
// getenv. on is false when both pages and posts are off: then no Coalescer
// is needed.
func CoalesceOptionsFromEnv(getenv func(string) string) (opts CoalesceOptions, on bool, err error) {
	burst := func(name string, dst *int, off *bool) error {
		v := strings.TrimSpace(getenv(name))
		switch {
		case v == "":
		case strings.EqualFold(v, "off"):
			*off = true
		default:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%s=%q: want a whole number of at least 1, or off", name, v)
			}
			*dst = n
		}
		return nil
	}
	window := func(name string, dst *time.Duration, off *bool) error {
		v := strings.TrimSpace(getenv(name))
		switch {
		case v == "":
		case strings.EqualFold(v, "off"):
			*off = true
		default:
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 || d > MaxPageWindow {
				return fmt.Errorf("%s=%q: want a positive duration up to %s, such as 15s, or off", name, v, MaxPageWindow)
			}
			*dst = d
		}
		return nil
	}
	for _, e := range []error{
		burst(EnvPageBurst, &opts.PageBurst, &opts.NoPages),
		window(EnvPageWindow, &opts.PageWindow, &opts.NoPages),
		burst(EnvPostBurst, &opts.PostBurst, &opts.NoPosts),
		window(EnvPostInterval, &opts.PostInterval, &opts.NoPosts),
	} {
		if e != nil {
			return CoalesceOptions{}, false, e
		}
	}
	return opts, !opts.NoPages || !opts.NoPosts, nil
}

// String describes the pacing for the worker's start-up log.
func (o CoalesceOptions) String() string {
	o = o.withDefaults()
	pages, posts := "off", "off"
	if !o.NoPages {
		pages = fmt.Sprintf("%d at once, then one every %s per person", o.PageBurst, o.PageWindow)
	}
	if !o.NoPosts {
		posts = fmt.Sprintf("%d at once, then one every %s per channel", o.PostBurst, o.PostInterval)
	}
	return "pages " + pages + "; posts " + posts
}
