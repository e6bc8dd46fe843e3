package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// The parts of govulncheck's JSON stream (golang.org/x/vuln
// internal/govulncheck, protocol v1) that check reads.
type message struct {
	Config *struct {
		ScannerVersion string `json:"scanner_version"`
		DB             string `json:"db"`
		DBLastModified string `json:"db_last_modified"`
		GoVersion      string `json:"go_version"`
		ScanLevel      string `json:"scan_level"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *finding `json:"finding"`
}

type finding struct {
	OSV          string   `json:"osv"`
	FixedVersion string   `json:"fixed_version"`
	Trace        []*frame `json:"trace"`
}

// frame is one step of a finding's trace: the first is the vulnerable
// module, package or symbol, the last the entry point in this module.
type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
	} `json:"position"`
}

func (f *frame) symbol() string {
	s := f.Package
	if f.Receiver != "" {
		s += "." + strings.TrimPrefix(f.Receiver, "*")
	}
	if f.Function != "" {
		s += "." + f.Function
	}
	return s
}

// Levels of a vulnerability, from the finding that reaches furthest.
const (
	levelRequired = iota + 1 // a required module is affected
	levelImported            // an imported package is affected
	levelCalled              // a vulnerable symbol is reachable from this module's code
)

var levelNames = map[int]string{levelRequired: "required", levelImported: "imported", levelCalled: "called"}

func (f *finding) level() int {
	switch {
	case len(f.Trace) > 0 && f.Trace[0].Function != "":
		return levelCalled
	case len(f.Trace) > 0 && f.Trace[0].Package != "":
		return levelImported
	}
	return levelRequired
}

// allowed is one line of the allow-list.
type allowed struct {
	ID, Module, Reason string
	Line               int
}

func readAllowList(name string) ([]allowed, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var list []allowed
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			return nil, fmt.Errorf("%s:%d: want \"ID module justification\"", name, n)
		}
		list = append(list, allowed{ID: fields[0], Module: fields[1], Reason: strings.Join(fields[2:], " "), Line: n})
	}
	return list, sc.Err()
}

// vuln is what check gathers about one vulnerability.
type vuln struct {
	id, summary, module, version, fixed string
	level                               int
	example                             []*frame // the trace of a finding at level
}

// check reads govulncheck's JSON stream from r, reports to w, and returns
// whether the run passes: every called vulnerability is on the allow-list
// (for its module), and every allow-list entry matched one.
func check(r io.Reader, w io.Writer, allow []allowed) (bool, error) {
	dec := json.NewDecoder(r)
	vulns := map[string]*vuln{}
	summaries := map[string]string{}
	sawConfig := false
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return false, fmt.Errorf("reading govulncheck's JSON: %v", err)
		}
		switch {
		case m.Config != nil:
			sawConfig = true
			c := m.Config
			fmt.Fprintf(w, "govulncheck %s, %s, scan level %s; database %s (modified %s)\n", c.ScannerVersion, c.GoVersion, c.ScanLevel, c.DB, c.DBLastModified)
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil:
			f := m.Finding
			if len(f.Trace) == 0 {
				continue
			}
			v := vulns[f.OSV]
			if v == nil {
				v = &vuln{id: f.OSV, module: f.Trace[0].Module, version: f.Trace[0].Version, fixed: f.FixedVersion}
				vulns[f.OSV] = v
			}
			if l := f.level(); l > v.level {
				v.level, v.example = l, f.Trace
			}
		}
	}
	if !sawConfig {
		return false, fmt.Errorf("no govulncheck output (no config message)")
	}

	var list []*vuln
	for _, v := range vulns {
		v.summary = summaries[v.id]
		list = append(list, v)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].level != list[j].level {
			return list[i].level > list[j].level
		}
		return list[i].id < list[j].id
	})

	ok := true
	used := make([]bool, len(allow))
	counts := map[int]int{}
	var called []string
	for _, v := range list {
		counts[v.level]++
		fixed := v.fixed
		if fixed == "" {
			fixed = "no fixed version"
		} else {
			fixed = "fixed in " + fixed
		}
		verdict := ""
		if v.level == levelCalled {
			called = append(called, v.id)
			verdict = "NOT ALLOWED"
			for i, a := range allow {
				if a.ID == v.id && a.Module == v.module {
					used[i] = true
					verdict = "allowed (.ci/govulncheck-allow line " + fmt.Sprint(a.Line) + "): " + a.Reason
				}
			}
			if strings.HasPrefix(verdict, "NOT") {
				ok = false
			}
		}
		fmt.Fprintf(w, "\n%s [%s] %s@%s, %s\n  %s\n", v.id, levelNames[v.level], v.module, v.version, fixed, v.summary)
		if v.level >= levelImported {
			var path []string
			for i := len(v.example) - 1; i >= 0; i-- {
				s := v.example[i].symbol()
				if p := v.example[i].Position; p != nil && p.Filename != "" && i == len(v.example)-1 {
					s += fmt.Sprintf(" (%s:%d)", p.Filename, p.Line)
				}
				path = append(path, s)
			}
			if len(path) > 4 { // the entry point, its callee, …, the vulnerable symbol
				path = append(path[:2:2], "…", path[len(path)-1])
			}
			fmt.Fprintf(w, "  e.g. %s\n", strings.Join(path, " → "))
		}
		if verdict != "" {
			fmt.Fprintf(w, "  %s\n", verdict)
		}
	}
	for i, a := range allow {
		if !used[i] {
			ok = false
			fmt.Fprintf(w, "\nallow-list line %d: %s in %s is not reachable any more: remove the entry\n", a.Line, a.ID, a.Module)
		}
	}
	fmt.Fprintf(w, "\nsummary: %d called (%s), %d imported only, %d required only\n",
		counts[levelCalled], strings.Join(called, ", "), counts[levelImported], counts[levelRequired])
	if ok {
		fmt.Fprintln(w, "govulncheck: PASS (no called vulnerability outside the allow-list)")
	} else {
		fmt.Fprintln(w, "govulncheck: FAIL")
	}
	return ok, nil
}
