// Package config reads datasev's optional configuration file, a YAML
// rendering of the environment variables the worker, the intake and the CLI
// read, so that a deployment can keep its settings in one reviewed file.
//
// The file is named by DATASEV_CONFIG. It holds one mapping per section;
// each key is a variable name's tail in lower case:
//
//	temporal: {address: 127.0.0.1:7233, namespace: default}  # TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE
//	worker:   {task_queue: datasev, log_format: json}         # DATASEV_TASK_QUEUE, DATASEV_LOG_FORMAT
//	github:   {token_file: /run/secrets/github_token}         # DATASEV_GITHUB_TOKEN_FILE
//	email:    {leadership_sev1: "cto@example.com"}            # DATASEV_EMAIL_LEADERSHIP_SEV1
//
// Section temporal maps to TEMPORAL_<KEY>, section worker to DATASEV_<KEY>,
// every other section to DATASEV_<SECTION>_<KEY>. Values are strings,
// numbers or bools written as the variable would be; they are used as
// written ("0x10" stays "0x10", true becomes "true").
//
// The targets section, the target policy (activities/support/target), nests one
// level and holds lists: targets: {github: {repositories: [acme/dbt]}} sets
// DATASEV_TARGETS_GITHUB_REPOSITORIES to "acme/dbt" (a list's entries
// joined by commas).
//
// The environment overrides the file: a variable set (non-empty) in the
// environment wins over the file's value. Unknown sections and keys are
// errors that name file:line and suggest the closest known name (Known).
// Secret values (keys ending in token, secret, password, api_key or key,
// and TLS key data) are refused: secrets come from the environment or from
// files, through the _file keys.
package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/datasev/datasev/activities/support/editdist"
)

// EnvConfig names the variable holding the configuration file's path.
const EnvConfig = "DATASEV_CONFIG"

// The variable name prefixes of the temporal section and of the others.
const (
	temporalPrefix = "TEMPORAL" + "_"
	datasevPrefix  = "DATASEV" + "_"
)

// File is a loaded configuration file: variable names to values.
type File struct {
	// Path is the file as named.
	Path string
	vars map[string]string
}

// Load reads and checks the configuration file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	return Parse(path, data)
}

// Parse checks data, the content of the file named path (used in errors).
// Every problem found is reported, each as path:line: message.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path, vars: map[string]string{}}
	doc, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", path, err)
	}
	if len(doc.Docs) > 1 {
		return nil, fmt.Errorf("%s: want one YAML document, found %d", path, len(doc.Docs))
	}
	if len(doc.Docs) == 0 || doc.Docs[0].Body == nil {
		return f, nil
	}
	top, ok := mapping(doc.Docs[0].Body)
	if !ok {
		return nil, fmt.Errorf("%s:%d: want a mapping of sections (temporal:, worker:, github:, …)", path, line(doc.Docs[0].Body))
	}
	var errs []error
	where := map[string]int{}
	for _, sec := range top {
		name := keyText(sec.Key)
		l := line(sec.Key)
		if !knownSection(name) {
			errs = append(errs, fmt.Errorf("%s:%d: unknown section %q%s", path, l, name, suggest(name, sectionNames())))
			continue
		}
		if _, null := sec.Value.(*ast.NullNode); null {
			continue
		}
		entries, ok := mapping(sec.Value)
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: section %q: want a mapping of keys", path, l, name))
			continue
		}
		for _, kv := range flatten(name, entries) {
			key := kv.key
			kl := kv.line
			v := EnvName(name, key)
			switch {
			case v == "" || !IsKnown(v) || v == EnvConfig:
				errs = append(errs, fmt.Errorf("%s:%d: unknown key %s.%s%s", path, kl, name, key, suggest(name+"."+key, fileKeys())))
				continue
			case Secret(v):
				errs = append(errs, fmt.Errorf("%s:%d: %s.%s is a secret and the file may not hold secrets: %s", path, kl, name, key, secretAdvice(v)))
				continue
			}
			val, ok := scalar(kv.value)
			if !ok && name == targetsSection {
				val, ok = list(kv.value)
			}
			if !ok {
				want := "a string, number or bool"
				if name == targetsSection {
					want = "a list of strings"
				}
				errs = append(errs, fmt.Errorf("%s:%d: %s.%s: want %s", path, kl, name, key, want))
				continue
			}
			if prev, dup := where[v]; dup {
				errs = append(errs, fmt.Errorf("%s:%d: %s.%s sets %s again (first set on line %d)", path, kl, name, key, v, prev))
				continue
			}
			where[v] = kl
			f.vars[v] = val
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// FromEnv loads the file DATASEV_CONFIG names (through getenv) and returns
// the lookup the programs should use: the environment first, then the
// file. Without DATASEV_CONFIG it returns getenv itself.
func FromEnv(getenv func(string) string) (func(string) string, error) {
	f, err := LoadFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return f.Getenv(getenv), nil
}

// LoadFromEnv loads the file DATASEV_CONFIG names, or returns nil (a valid
// empty *File) when it is unset.
func LoadFromEnv(getenv func(string) string) (*File, error) {
	p := strings.TrimSpace(getenv(EnvConfig))
	if p == "" {
		return nil, nil
	}
	f, err := Load(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvConfig, err)
	}
	return f, nil
}

// Getenv returns a lookup that answers from env when it has a non-empty
// value, else from the file. A nil *File returns env unchanged.
func (f *File) Getenv(env func(string) string) func(string) string {
	if f == nil || len(f.vars) == 0 {
		return env
	}
	return func(k string) string {
		if v := env(k); v != "" {
			return v
		}
		return f.vars[k]
	}
}

// Lookup returns the value the file sets for the variable name, if any.
func (f *File) Lookup(name string) (string, bool) {
	if f == nil {
		return "", false
	}
	v, ok := f.vars[name]
	return v, ok
}

// Names returns the variables the file sets, sorted.
func (f *File) Names() []string {
	if f == nil {
		return nil
	}
	out := make([]string, 0, len(f.vars))
	for k := range f.vars {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EnvName is the variable a section's key stands for, or "" when the
// section or key cannot name one.
func EnvName(section, key string) string {
	section, key = strings.ToLower(strings.TrimSpace(section)), strings.ToLower(strings.TrimSpace(key))
	if section == "" || key == "" || strings.ContainsAny(section+key, " .-=") {
		return ""
	}
	tail := strings.ToUpper(key)
	switch section {
	case "temporal":
		return temporalPrefix + tail
	case "worker":
		return datasevPrefix + tail
	}
	return datasevPrefix + strings.ToUpper(section) + "_" + tail
}

// IsKnown reports whether name is in Known, or completes a prefix there.
func IsKnown(name string) bool {
	for _, k := range Known {
		if k == name || strings.HasSuffix(k, "_") && strings.HasPrefix(name, k) && len(name) > len(k) {
			return true
		}
	}
	return false
}

// Secret reports whether the variable holds a secret value, which the file
// refuses: names ending in TOKEN, SECRET, PASSWORD, API_KEY or KEY, plus
// the TLS client key data and the remote codec's authorization.
func Secret(name string) bool {
	switch name {
	case "TEMPORAL_TLS_CLIENT_KEY_DATA", "TEMPORAL_CODEC_AUTH":
		return true
	}
	for _, s := range []string{"TOKEN", "SECRET", "PASSWORD", "KEY"} {
		if strings.HasSuffix(name, "_"+s) {
			return true
		}
	}
	return false
}

func secretAdvice(name string) string {
	switch {
	case IsKnown(name + "_FILE"):
		_, key := fileKey(name + "_FILE")
		return fmt.Sprintf("use the %s key (%s_FILE) naming a file that holds it, or set %s in the environment", key, name, name)
	case name == "TEMPORAL_TLS_CLIENT_KEY_DATA":
		return "use tls_client_key_path naming the key file"
	case name == "DATASEV_CODEC_KEY":
		return "use keys_file (DATASEV_CODEC_KEYS_FILE) naming a keys file"
	}
	return "set " + name + " in the environment"
}

// knownSection reports whether some known variable lives in section.
func knownSection(s string) bool { return slices.Contains(sectionNames(), s) }

// sectionNames lists the sections the known variables fall in.
func sectionNames() []string {
	seen := map[string]bool{"temporal": true, "worker": true}
	for _, k := range Known {
		if rest, ok := strings.CutPrefix(k, datasevPrefix); ok {
			if sec, _, ok := strings.Cut(rest, "_"); ok {
				seen[strings.ToLower(sec)] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// fileKey is the preferred section.key spelling of a known variable:
// temporal.x, the integration's section, or worker.x for one-word tails.
func fileKey(name string) (section, key string) {
	if rest, ok := strings.CutPrefix(name, temporalPrefix); ok {
		return "temporal", strings.ToLower(rest)
	}
	rest := strings.TrimPrefix(name, datasevPrefix)
	if sec, k, ok := strings.Cut(rest, "_"); ok && len(rest) > 0 {
		switch sec {
		case "TASK", "LOG", "METRICS", "TEMPORAL", "UI":
			return "worker", strings.ToLower(rest)
		}
		return strings.ToLower(sec), strings.ToLower(k)
	}
	return "worker", strings.ToLower(rest)
}

// fileKeys lists every "section.key" spelling of the known, non-secret
// variables, for suggestions.
func fileKeys() []string {
	var out []string
	for _, k := range Known {
		if Secret(k) || k == EnvConfig {
			continue
		}
		sec, key := fileKey(k)
		out = append(out, sec+"."+strings.TrimSuffix(key, "_"))
		if strings.HasPrefix(k, datasevPrefix) {
			out = append(out, "worker."+strings.ToLower(strings.TrimPrefix(k, datasevPrefix)))
		}
	}
	return out
}

// suggest returns `; did you mean "x"?` for the candidate closest to s, or
// "" when none is close.
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editdist.Distance(s, c, len(s)+len(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(3, len(s)/3) {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// targetsSection is the target policy's section (activities/support/target). Its
// keys nest one level (targets.github.repositories is
// DATASEV_TARGETS_GITHUB_REPOSITORIES) and its values are lists.
const targetsSection = "targets"

// entry is one key of a section and its value node.
type entry struct {
	key   string
	line  int
	value ast.Node
}

// flatten lists a section's entries; in the targets section a mapping
// under a key (github: {repositories: […]}) becomes github_repositories.
func flatten(section string, entries []*ast.MappingValueNode) []entry {
	var out []entry
	for _, kv := range entries {
		if section == targetsSection {
			if sub, ok := mapping(kv.Value); ok {
				for _, skv := range sub {
					out = append(out, entry{key: keyText(kv.Key) + "_" + keyText(skv.Key), line: line(skv.Key), value: skv.Value})
				}
				continue
			}
		}
		out = append(out, entry{key: keyText(kv.Key), line: line(kv.Key), value: kv.Value})
	}
	return out
}

// list is a sequence of scalars joined by commas, as the environment
// variable holds a list.
func list(n ast.Node) (string, bool) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		return "", false
	}
	parts := make([]string, 0, len(seq.Values))
	for _, v := range seq.Values {
		s, ok := scalar(v)
		if !ok || strings.Contains(s, ",") {
			return "", false
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ","), true
}

func mapping(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

func keyText(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if t := k.GetToken(); t != nil {
		return t.Value
	}
	return k.String()
}

func line(n ast.Node) int {
	if n == nil {
		return 0
	}
	if t := n.GetToken(); t != nil && t.Position != nil {
		return t.Position.Line
	}
	return 0
}

// scalar is a value node's text as the environment variable would hold it.
func scalar(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return strings.TrimRight(v.Value.Value, "\n"), true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return n.GetToken().Value, true
	case *ast.NullNode:
		return "", true
	}
	return "", false
}
