package runbooks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// MaxFileSize bounds one runbook file.
const MaxFileSize = 1 << 20

// maxDepth bounds the nesting of a runbook file's YAML.
const maxDepth = 64

// Problem is one thing wrong with a runbook file, at a line and column.
type Problem struct {
	File string
	Pos  Pos
	Msg  string
}

// Error formats the problem as file:line:col: message.
func (p Problem) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Pos.Line, p.Pos.Column, p.Msg)
}

// Problems is every problem found, sorted by file and position. As an error
// it prints one problem per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps sorted as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	out := append(Problems(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Column < b.Pos.Column
	})
	return out
}

// Layer is a directory of runbook files: the *.yaml and *.yml files at its
// root.
type Layer struct {
	FS fs.FS
	// Prefix names the layer's files in messages and Runbook.Source:
	// "embedded:" for the library, a directory path ending in a separator
	// for an operator's directory.
	Prefix string
}

// Set is a loaded set of runbooks, sorted by name.
type Set struct {
	runbooks  []*Runbook
	files     []*file // files[i] holds runbooks[i]
	byName    map[string]int
	overrides []string
	others    []OtherFile
	regexps   map[string]*regexp.Regexp // compiled match regexps; nil when invalid
}

// OtherFile is a YAML file of a layer that is not a runbook: each of its
// documents is a mapping and none has a runbook's fields (name,
// description, owner, match, severity, roles, steps). A runbook directory
// may hold the team's roster, or other configuration: the loader leaves
// such a file out of the Set instead of reporting it as a broken runbook,
// and lists it for the caller to check as what it is or to mention.
type OtherFile struct {
	// File names the file as Problem.File does.
	File string
	// Keys are the top-level keys of its documents, in order.
	Keys []string
	// Src is the file's content.
	Src []byte
}

// Load loads the embedded library, then the extra layers (the dev
// command's demo runbooks; production passes none), and, when dir is not
// empty, the runbook files in dir: a file there overrides the earlier file
// of the same name (Overrides says which did). The Set holds every runbook
// that decoded; the error, a Problems, lists the files that did not, each
// problem with its file, line and column. YAML files that are not
// runbooks at all are left out (OtherFiles lists them). Load does not
// validate: call Validate.
func Load(dir string, extra ...Layer) (*Set, error) {
	layers := append([]Layer{{FS: Library(), Prefix: "embedded:"}}, extra...)
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("runbook directory: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("runbook directory %s: not a directory", dir)
		}
		layers = append(layers, Layer{FS: os.DirFS(dir), Prefix: filepath.Clean(dir) + string(filepath.Separator)})
	}
	return LoadLayers(layers...)
}

// LoadLayers loads the runbook files of each layer; a file in a later layer
// overrides the file of the same name in an earlier one. Errors are as for
// Load; a layer that cannot be listed is an error of its own.
func LoadLayers(layers ...Layer) (*Set, error) {
	chosen, overrides, err := chooseFiles(layers)
	if err != nil {
		return nil, err
	}
	set := &Set{byName: map[string]int{}, overrides: overrides, regexps: map[string]*regexp.Regexp{}}
	var problems Problems
	for _, n := range sortedKeys(chosen) {
		problems = append(problems, set.add(chosen[n])...)
	}
	set.sort()
	problems = append(problems, set.index()...)
	set.compileRegexps()
	return set, problems.Err()
}

// layerFile is a file of a layer, chosen to be loaded.
type layerFile struct {
	name, display string
	layer         Layer
}

// chooseFiles lists the runbook files of the layers, by name: the last
// layer's file of a name wins, and overrides says so.
func chooseFiles(layers []Layer) (chosen map[string]layerFile, overrides []string, err error) {
	chosen = map[string]layerFile{}
	for _, l := range layers {
		names, err := fs.Glob(l.FS, "*.yaml")
		if err != nil {
			return nil, nil, fmt.Errorf("list runbooks in %s: %w", l.Prefix, err)
		}
		yml, err := fs.Glob(l.FS, "*.yml")
		if err != nil {
			return nil, nil, fmt.Errorf("list runbooks in %s: %w", l.Prefix, err)
		}
		names = append(names, yml...)
		sort.Strings(names)
		for _, n := range names {
			e := layerFile{name: n, display: l.Prefix + n, layer: l}
			if prev, ok := chosen[n]; ok {
				overrides = append(overrides, fmt.Sprintf("%s overrides %s", e.display, prev.display))
			}
			chosen[n] = e
		}
	}
	return chosen, overrides, nil
}

// add reads and parses one chosen file into the set: a runbook, or a file
// that is not one (see OtherFile), or the problems that keep it out.
func (s *Set) add(e layerFile) Problems {
	src, err := readFile(e.layer.FS, e.name)
	if err != nil {
		return asProblems(e.display, err)
	}
	rb, f, err := parseFile(e.display, src)
	if err != nil {
		if keys, other := notRunbook(src); other {
			s.others = append(s.others, OtherFile{File: e.display, Keys: keys, Src: src})
			return nil
		}
		return asProblems(e.display, err)
	}
	s.runbooks = append(s.runbooks, rb)
	s.files = append(s.files, f)
	return nil
}

// asProblems is err as Problems: itself when it is one, else one problem
// at the start of the file.
func asProblems(name string, err error) Problems {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	return Problems{{File: name, Pos: Pos{1, 1}, Msg: err.Error()}}
}

// index fills byName from the sorted runbooks; a name used twice is a
// problem at the later file.
func (s *Set) index() Problems {
	var problems Problems
	for i, rb := range s.runbooks {
		if j, dup := s.byName[rb.Name]; dup {
			other := s.files[j]
			problems = append(problems, Problem{File: s.files[i].name, Pos: s.files[i].pos("name"),
				Msg: fmt.Sprintf("runbook name %q is also used by %s:%s; names must be unique", rb.Name, other.name, other.pos("name"))})
			continue
		}
		s.byName[rb.Name] = i
	}
	return problems
}

func readFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("file is %d bytes; a runbook file may have at most %d", st.Size(), MaxFileSize)
	}
	return fs.ReadFile(fsys, name)
}

func (s *Set) sort() {
	idx := make([]int, len(s.runbooks))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ra, rb := s.runbooks[idx[a]], s.runbooks[idx[b]]
		if ra.Name != rb.Name {
			return ra.Name < rb.Name
		}
		return ra.Source < rb.Source
	})
	rbs := make([]*Runbook, len(idx))
	fs := make([]*file, len(idx))
	for i, j := range idx {
		rbs[i], fs[i] = s.runbooks[j], s.files[j]
	}
	s.runbooks, s.files = rbs, fs
}

// Runbooks returns the runbooks, sorted by name. Treat them as read-only.
func (s *Set) Runbooks() []*Runbook { return append([]*Runbook(nil), s.runbooks...) }

// Len is the number of runbooks.
func (s *Set) Len() int { return len(s.runbooks) }

// Get returns the named runbook. Treat it as read-only.
func (s *Set) Get(name string) (*Runbook, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return s.runbooks[i], true
}

// Overrides says which operator files replaced library files of the same
// name, one sentence each ("/etc/runbooks/x.yaml overrides embedded:x.yaml").
func (s *Set) Overrides() []string { return append([]string(nil), s.overrides...) }

// OtherFiles returns the YAML files that were left out because they are not
// runbooks (see OtherFile), sorted by name. Treat them as read-only.
func (s *Set) OtherFiles() []OtherFile { return append([]OtherFile(nil), s.others...) }

// Parse decodes one runbook file strictly: an unknown field, a value of the
// wrong type, a bad duration, a duplicate key, an anchor or alias, or more
// than one document is an error naming the line and column (a Problems).
// name is the file's name in messages and Runbook.Source. Parse does not
// validate: see Validate. It never panics.
func Parse(name string, src []byte) (*Runbook, error) {
	rb, _, err := parseFile(name, src)
	return rb, err
}
