package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// entry is the part of an OSV entry the indexes need.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`
}

type osvRange struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced,omitempty"`
		Fixed      string `json:"fixed,omitempty"`
	} `json:"events"`
}

type moduleVuln struct {
	ID       string `json:"id"`
	Modified string `json:"modified"`
	Fixed    string `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vulnIndex struct {
	ID       string   `json:"id"`
	Modified string   `json:"modified"`
	Aliases  []string `json:"aliases,omitempty"`
}

// build writes the database for the entries in osvDir to out, through a
// scratch directory renamed into place, so a reader never sees half a
// database. It returns the number of entries.
func build(osvDir, out string, stamp time.Time) (int, error) {
	files, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("no OSV entries in %s", osvDir)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".vulndb-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Join(tmp, "index"), 0o755); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "ID"), 0o755); err != nil {
		return 0, err
	}

	modules := map[string]*module{}
	vulns := map[string]vulnIndex{}
	var dbModified time.Time
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return 0, fmt.Errorf("%s: %v", f, err)
		}
		if e.ID == "" || e.ID+".json" != filepath.Base(f) {
			return 0, fmt.Errorf("%s: entry ID %q does not match its file name", f, e.ID)
		}
		if _, dup := vulns[e.ID]; dup {
			return 0, fmt.Errorf("%s: ID %s appears twice", f, e.ID)
		}
		if e.Modified.IsZero() {
			e.Modified = stamp
			if raw, err = setModified(raw, stamp); err != nil {
				return 0, fmt.Errorf("%s: %v", f, err)
			}
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return 0, fmt.Errorf("%s: %v", f, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "ID", e.ID+".json"), compact.Bytes(), 0o644); err != nil {
			return 0, err
		}

		mod := e.Modified.UTC().Format(time.RFC3339)
		vulns[e.ID] = vulnIndex{ID: e.ID, Modified: mod, Aliases: e.Aliases}
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name, Vulns: []moduleVuln{}}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: mod, Fixed: latestFixed(a.Ranges)})
		}
		if e.Modified.After(dbModified) {
			dbModified = e.Modified
		}
	}

	var modList []*module
	for _, m := range modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		modList = append(modList, m)
	}
	sort.Slice(modList, func(i, j int) bool { return modList[i].Path < modList[j].Path })
	var vulnList []vulnIndex
	for _, v := range vulns {
		vulnList = append(vulnList, v)
	}
	sort.Slice(vulnList, func(i, j int) bool { return vulnList[i].ID < vulnList[j].ID })

	index := map[string]any{
		"db.json":      map[string]string{"modified": dbModified.UTC().Format(time.RFC3339)},
		"modules.json": modList,
		"vulns.json":   vulnList,
	}
	for name, v := range index {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(tmp, "index", name), b, 0o644); err != nil {
			return 0, err
		}
	}
	if err := os.RemoveAll(out); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return 0, err
	}
	return len(vulns), nil
}

// setModified sets an entry's top-level "modified" field, keeping every other
// field as it was.
func setModified(raw []byte, t time.Time) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	b, err := json.Marshal(t.UTC().Format(time.RFC3339))
	if err != nil {
		return nil, err
	}
	fields["modified"] = b
	return json.Marshal(fields)
}

// latestFixed is vulndb's osvutils.LatestFixed: the latest fixed version
// across the SEMVER ranges, or "" when the vulnerability is reintroduced after
// it (so no version is known to be clear).
func latestFixed(ranges []osvRange) string {
	var latest string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && semverLess(latest, e.Fixed) {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && semverLess(latest, e.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}

// semverLess reports whether version a sorts before b under SemVer 2.0.0
// precedence. Versions have no leading "v"; "" sorts before every version, as
// in vulndb's version.Before.
func semverLess(a, b string) bool {
	if a == "" || b == "" {
		return a == "" && b != ""
	}
	return semverCompare(a, b) < 0
}

func semverCompare(a, b string) int {
	a, _, _ = strings.Cut(a, "+")
	b, _, _ = strings.Cut(b, "+")
	aCore, aPre, aHasPre := strings.Cut(a, "-")
	bCore, bPre, bHasPre := strings.Cut(b, "-")
	aParts, bParts := strings.Split(aCore, "."), strings.Split(bCore, ".")
	for i := 0; i < 3; i++ {
		if c := compareIdent(part(aParts, i), part(bParts, i), true); c != 0 {
			return c
		}
	}
	switch {
	case !aHasPre && !bHasPre:
		return 0
	case !aHasPre:
		return 1
	case !bHasPre:
		return -1
	}
	ap, bp := strings.Split(aPre, "."), strings.Split(bPre, ".")
	for i := 0; i < len(ap) && i < len(bp); i++ {
		if c := compareIdent(ap[i], bp[i], false); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ap), len(bp))
}

func part(p []string, i int) string {
	if i < len(p) {
		return p[i]
	}
	return "0"
}

// compareIdent compares two dot-separated identifiers: numerically when both
// are numbers (numbers sort before words in a pre-release), else as strings.
func compareIdent(a, b string, core bool) int {
	an, aErr := strconv.ParseUint(a, 10, 64)
	bn, bErr := strconv.ParseUint(b, 10, 64)
	switch {
	case aErr == nil && bErr == nil:
		return cmp.Compare(an, bn)
	case aErr == nil && !core:
		return -1
	case bErr == nil && !core:
		return 1
	}
	return strings.Compare(a, b)
}
