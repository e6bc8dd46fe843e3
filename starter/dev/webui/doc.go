// Package webui holds the browser tests of the Temporal Web UI as datasev
// uses it: a real dev server with its UI, the production worker running an
// incident with the demo runbook against a stand-in, and headless Chromium
// driven over the DevTools protocol (chromedp), reading what an incident's
// responders read — the current details with the incident document's link,
// the activity summaries on the event histories, the list filtered by the
// custom search attributes — and saving a screenshot of each page.
//
// The test runs itself again inside network and PID namespaces of its own
// (unshare --net --pid, then ip link set lo up): only a loopback, so
// nothing reaches past 127.0.0.1 — Chromium checks IPv6 reachability on its
// own, with no switch to turn that off — and every process the run starts
// dies with it. That takes root, unshare (util-linux), ip (iproute2) and
// Chromium (the Debian package chromium, or DATASEV_CHROMIUM naming a
// binary). Without them the test fails in CI (CI=true or
// DATASEV_REQUIRE_BROWSER=1) and is skipped with the reason elsewhere.
//
// Screenshots (PNG) go to DATASEV_ARTIFACTS when it is set, else to the
// test's temporary directory; the test logs their paths.
package webui
