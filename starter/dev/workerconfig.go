package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/activities/lifecycle/statuspage"
	"github.com/datasev/datasev/activities/notifiers/email"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/worker/service"
)

// workerSetup is the dev worker's configuration and where each integration
// points.
type workerSetup struct {
	cfg service.Config
	// standIn names the integrations the stand-ins play.
	standIn map[string]bool
	// yours lists the integrations the user configured, each with the
	// variable that says so, e.g. "s3 (DATASEV_S3_ENDPOINT)".
	yours []string
	// yourTargets says the user configured a target policy, which the
	// worker keeps instead of the stand-ins' one.
	yourTargets bool
}

// demoReady reports whether the demo incidents may run: they act on the
// stand-ins' data, so every integration must be a stand-in and the target
// policy the stand-ins' one. Otherwise the reason is returned.
func (w workerSetup) demoReady() (bool, string) {
	var what []string
	what = append(what, w.yours...)
	if w.yourTargets {
		what = append(what, "the target policy (DATASEV_TARGETS_*)")
	}
	if len(what) == 0 {
		return true, ""
	}
	return false, "configured by you: " + strings.Join(what, ", ")
}

// loadWorkerConfig reads the worker's configuration the way the worker
// binary does (service.LoadConfig over getenv, which answers from the
// environment, then the DATASEV_CONFIG file), with dev's settings filling
// in only what the user left unset:
//
//   - every integration the stand-ins play (S3, Snowflake, GitHub, Airflow,
//     Slack) that the user has not configured talks to its stand-in; email
//     and the status page, which have none, stay off unless configured;
//   - when the user configured no integration and no target policy, the policy allows exactly the stand-ins' data and the demo
//     loader. Otherwise the policy is the user's, or none, as for the
//     worker binary: dev never allows a remediation on a system of the
//     user's by itself;
//   - defaults holds dev's other defaults (files under its state
//     directory, a short stop timeout), and forced what dev decides itself
//     (the roster it runs with).
//
// The stand-in's AWS credentials, which the AWS SDK reads from the process
// environment, are set there only when S3 is the stand-in's and no key is
// set. Nothing dev fills in points past 127.0.0.1.
func loadWorkerConfig(getenv func(string) string, s *standIns, defaults, forced map[string]string) (workerSetup, error) {
	w := workerSetup{standIn: map[string]bool{}}
	fill := maps.Clone(defaults)
	if fill == nil {
		fill = map[string]string{}
	}
	for _, k := range target.Keys {
		if strings.TrimSpace(getenv(target.Env(k))) != "" {
			w.yourTargets = true
		}
	}
	// Email and the status page have no stand-in: configured, they are
	// the user's, and the demo, which would page and publish through them,
	// stays off.
	for _, o := range []struct {
		name   string
		claims []string
	}{
		{"email", []string{email.EnvHost}},
		{"statuspage", []string{statuspage.EnvAPIKey, statuspage.EnvAPIKeyFile, statuspage.EnvPageID}},
	} {
		if v := claimedBy(getenv, o.claims); v != "" {
			w.yours = append(w.yours, fmt.Sprintf("%s (%s)", o.name, v))
		}
	}
	policy := s.loaderTargets()
	for _, in := range s.integrations() {
		if v := claimedBy(getenv, in.claims); v != "" {
			w.yours = append(w.yours, fmt.Sprintf("%s (%s)", in.name, v))
			continue
		}
		w.standIn[in.name] = true
		maps.Copy(fill, in.env)
		for k, v := range in.targets {
			policy[k] = joinList(policy[k], v)
		}
		if _, ok := os.LookupEnv("AWS_ACCESS_KEY_ID"); !ok && len(in.process) > 0 {
			for k, v := range in.process {
				if err := os.Setenv(k, v); err != nil {
					return workerSetup{}, fmt.Errorf("%s stand-in: %w", in.name, err)
				}
			}
		}
	}
	if !w.yourTargets && len(w.yours) == 0 {
		for k, v := range policy {
			fill[target.Env(k)] = v
		}
	}
	lookup := func(k string) string {
		if v, ok := forced[k]; ok {
			return v
		}
		if v := getenv(k); strings.TrimSpace(v) != "" {
			return v
		}
		return fill[k]
	}
	cfg, err := service.LoadConfig(lookup)
	if err != nil {
		return workerSetup{}, fmt.Errorf("worker configuration: %w", err)
	}
	w.cfg = cfg
	return w, nil
}

// claimedBy returns the first of vars getenv sets, or "".
func claimedBy(getenv func(string) string, vars []string) string {
	for _, v := range vars {
		if strings.TrimSpace(getenv(v)) != "" {
			return v
		}
	}
	return ""
}

func joinList(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

// devDefaults are dev's defaults for the worker settings beside the
// integrations: its files under state, and a stop timeout short enough
// for Ctrl-C.
func devDefaults(state string) map[string]string {
	return map[string]string{
		service.EnvSealKeyFile: filepath.Join(state, "seal.key"),
		postmortem.EnvDir:      filepath.Join(state, "postmortems"),
		incidentdoc.EnvDir:     filepath.Join(state, "incidents"),
		service.EnvStopTimeout: "5s",
	}
}

// sortedNames returns the keys of m that are true, sorted.
func sortedNames(m map[string]bool) []string {
	var out []string
	for k, ok := range m {
		if ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
