// Package webui holds the browser tests of the Temporal Web UI as datasev
// uses it: a real dev server with its UI, the production worker, and
// headless Chromium driven over the DevTools protocol (chromedp), reading
// what an incident's responders read — the current details with the
// incident document's link, the summaries on the event history, the list
// filtered by the custom search attributes.
//
// They run only when asked: DATASEV_BROWSER_TESTS=1 (and Chromium, the
// Debian package chromium, or DATASEV_CHROMIUM naming a binary; without it
// they fail when asked). Everything they start talks to 127.0.0.1, and the
// browser is told to as well (no background networking, every other host
// unresolvable, a dead loopback proxy for the rest), but Chromium's network
// stack still checks whether IPv6 is routable by connecting a UDP socket to
// a public address (no packet is sent) and no switch turns that off. The
// project's rule is loopback only, so the default test run, and CI, leave
// the browser out.
package webui
