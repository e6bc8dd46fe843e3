// Package lineage answers "what does this dbt node feed, and what feeds it?"
// from a dbt manifest.json: the lineage.downstream and lineage.upstream
// runbook checks.
//
// The manifest is read from a local file, S3 (aws-sdk-go-v2) or a GitHub
// repository (go-github v57), decoded in one streaming pass that keeps only
// what lineage needs (Decode), and turned into a Graph of unique_ids with
// their parents and children (dbt's parent_map and child_map, or the nodes'
// depends_on when those maps are absent). A Cache keeps a few decoded
// manifests, each loaded once per version (file size and modification
// time, S3 ETag, git blob sha), and concurrent activities asking for the
// same version share one load.
//
// Manifest schema versions v10 to v12 (dbt 1.6 to 1.9) are read; fields the
// package does not know are skipped, so newer minor additions do not break
// it.
package lineage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Resource types as dbt writes them in resource_type.
const (
	TypeModel        = "model"
	TypeSeed         = "seed"
	TypeSnapshot     = "snapshot"
	TypeTest         = "test"
	TypeUnitTest     = "unit_test"
	TypeAnalysis     = "analysis"
	TypeOperation    = "operation"
	TypeSQLOperation = "sql_operation"
	TypeSource       = "source"
	TypeExposure     = "exposure"
	TypeGroup        = "group"
	TypeMetric       = "metric"
)

// Manifest is the part of a dbt manifest.json that lineage reads.
type Manifest struct {
	// SchemaVersion is metadata.dbt_schema_version, e.g.
	// https://schemas.getdbt.com/dbt/manifest/v12.json.
	SchemaVersion string
	// DBTVersion is metadata.dbt_version, e.g. 1.8.7.
	DBTVersion string
	// ProjectName is metadata.project_name (dbt 1.6+), "" when absent.
	ProjectName string
	// GeneratedAt is metadata.generated_at as written.
	GeneratedAt string
	// Nodes holds every node, source and exposure by unique_id.
	Nodes map[string]*Node
	// Groups holds the groups by unique_id (group.<package>.<name>).
	Groups map[string]*Group
	// ParentMap is dbt's parent_map (nil when the manifest has none).
	ParentMap map[string][]string
	// ChildMap is dbt's child_map (nil when the manifest has none).
	ChildMap map[string][]string
}

// Node is one resource of the manifest: a node (model, seed, snapshot,
// test, analysis, …), a source or an exposure.
type Node struct {
	// UniqueID is the node's key, e.g. model.shop.orders.
	UniqueID string
	// Name is the bare name (for a source, the table's name).
	Name string
	// ResourceType is dbt's resource_type.
	ResourceType string
	// PackageName is the dbt package that defines the node.
	PackageName string
	// OriginalFilePath is the file that defines it, relative to its
	// project.
	OriginalFilePath string
	// Materialized is config.materialized (models, seeds, snapshots).
	Materialized string
	// Group is the node's group name ("" for none).
	Group string
	// Owners are the node's owners: meta.owner or config.meta.owner for
	// nodes and sources (a string, a list or an object with name/email),
	// owner.name (else owner.email) for exposures. Graph fills an owner
	// from the node's group when it has none of its own.
	Owners []string
	// DependsOn is depends_on.nodes (nodes and exposures).
	DependsOn []string
	// SourceName is a source's source_name (the name of its YAML
	// source block).
	SourceName string
	// ExposureType is an exposure's type: dashboard, notebook, analysis,
	// ml or application.
	ExposureType string
	// Maturity is an exposure's maturity: high, medium or low.
	Maturity string
	// URL is an exposure's url.
	URL string
	// Label is an exposure's label.
	Label string
	// Version is a versioned model's version ("" for none), and
	// LatestVersion the version a bare ref means.
	Version, LatestVersion string
}

// Owner returns the node's first owner, "" for none.
func (n *Node) Owner() string {
	if len(n.Owners) == 0 {
		return ""
	}
	return n.Owners[0]
}

// IsTest reports whether the node is a data test or a unit test.
func (n *Node) IsTest() bool {
	return n.ResourceType == TypeTest || n.ResourceType == TypeUnitTest
}

// Group is a dbt group: a set of nodes with one owner.
type Group struct {
	// UniqueID is group.<package>.<name>.
	UniqueID string
	// Name is the group's name.
	Name string
	// Owner is owner.name, else owner.email.
	Owner string
}

// SyntaxError is a manifest that is not valid JSON, or whose JSON does not
// have the manifest's shape.
type SyntaxError struct {
	// Offset is the byte offset in the file where decoding failed.
	Offset int64
	// Msg says what is wrong.
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid manifest JSON at byte %d: %s", e.Offset, e.Msg)
}

// ReadError is a failure of the underlying reader (a network or disk
// error) while decoding, as opposed to bad content.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "reading manifest: " + e.Err.Error() }

// Unwrap returns the reader's error.
func (e *ReadError) Unwrap() error { return e.Err }

// Decode reads a manifest.json from r in one streaming pass. Each node is
// decoded on its own and only the fields lineage needs are kept (raw_code,
// compiled_code, columns and descriptions are scanned past, not stored),
// so memory grows with the number of nodes, not with the file's size.
// Sections it does not use (macros, docs, metrics, …) are skipped entry by
// entry.
//
// Bad content is a *SyntaxError carrying the byte offset; a failure of r
// itself is a *ReadError.
func Decode(r io.Reader) (*Manifest, error) {
	tr := &trackingReader{r: r}
	d := &decoder{
		dec:    json.NewDecoder(tr),
		tr:     tr,
		intern: make(map[string]string),
	}
	m, err := d.manifest()
	if err != nil {
		return nil, err
	}
	return m, nil
}

// trackingReader remembers a read error other than io.EOF, so Decode can
// tell a broken connection from broken JSON.
type trackingReader struct {
	r   io.Reader
	err error
}

func (t *trackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

type decoder struct {
	dec    *json.Decoder
	tr     *trackingReader
	intern map[string]string
}

// str returns the canonical copy of s, so the many repeats of one
// unique_id in parent_map and child_map share memory.
func (d *decoder) str(s string) string {
	if c, ok := d.intern[s]; ok {
		return c
	}
	d.intern[s] = s
	return s
}

func (d *decoder) strs(ss []string) []string {
	for i, s := range ss {
		ss[i] = d.str(s)
	}
	return ss
}

// fail turns a decoding error into a *SyntaxError or a *ReadError.
func (d *decoder) fail(err error) error {
	if d.tr.err != nil {
		return &ReadError{Err: d.tr.err}
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// The message names the offending character; a manifest path can
		// point at any file the worker reads, so its content stays out.
		return &SyntaxError{Offset: d.syntaxOffset(se), Msg: withoutContent(se.Error())}
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			where = "value"
		}
		start, _ := d.valueStart()
		// te.Value may carry the number read ("number 42"): keep its kind.
		kind, _, _ := strings.Cut(te.Value, " ")
		return &SyntaxError{Offset: start, Msg: fmt.Sprintf("in the value starting here, %s: JSON %s where %s was expected", where, kind, te.Type)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &SyntaxError{Offset: d.dec.InputOffset(), Msg: "unexpected end of input (truncated file?)"}
	}
	var sh *shapeError
	if errors.As(err, &sh) {
		return &SyntaxError{Offset: sh.offset, Msg: sh.msg}
	}
	return &SyntaxError{Offset: d.dec.InputOffset(), Msg: strings.TrimPrefix(err.Error(), "json: ")}
}

// invalidChar is encoding/json's "invalid character 'x' …" naming a byte
// of the input.
var invalidChar = regexp.MustCompile(`^invalid character .+? (looking for|after|in) `)

// withoutContent drops the input's character from a JSON syntax error's
// message: "invalid character 'r' looking for beginning of value" becomes
// "invalid character looking for beginning of value".
func withoutContent(msg string) string {
	if invalidChar.MatchString(msg) {
		return invalidChar.ReplaceAllString(msg, "invalid character $1 ")
	}
	if strings.HasPrefix(msg, "invalid character") {
		return "invalid character"
	}
	return msg
}

// valueStart returns the stream offset where the value that failed to
// decode starts, and the unread bytes from there. A failed Decode does not
// consume its value, so the decoder's buffer still holds it.
func (d *decoder) valueStart() (int64, []byte) {
	rest, _ := io.ReadAll(d.dec.Buffered())
	off := d.dec.InputOffset()
	i := 0
	for i < len(rest) && strings.IndexByte(" \t\r\n,:", rest[i]) >= 0 {
		i++
	}
	return off + int64(i), rest[i:]
}

// syntaxOffset is se's offset in the whole stream. A json.Decoder's
// SyntaxError offsets are not always counted from the stream's start once
// it has decoded earlier values, so the failing value is scanned again on
// its own and its offset added to where it starts.
func (d *decoder) syntaxOffset(se *json.SyntaxError) int64 {
	start, rest := d.valueStart()
	var again *json.SyntaxError
	if err := json.NewDecoder(bytes.NewReader(rest)).Decode(&skip{}); errors.As(err, &again) {
		return start + again.Offset
	}
	return se.Offset
}

type shapeError struct {
	offset int64
	msg    string
}

func (e *shapeError) Error() string { return e.msg }

func (d *decoder) shape(format string, args ...any) error {
	return &shapeError{offset: d.dec.InputOffset(), msg: fmt.Sprintf(format, args...)}
}

// expect reads the next token, which must be the delimiter want.
func tokenName(tok any) string {
	switch v := tok.(type) {
	case json.Delim:
		return "'" + v.String() + "'"
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a bool"
	default:
		return "a number"
	}
}

// object walks an object (or null) key by key, calling each with the
// decoder positioned at the key's value, which each must consume.
func (d *decoder) object(what string, each func(key string) error) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	off := d.dec.InputOffset()
	if tok == nil {
		return nil // a null section, as dbt writes for some empty maps
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return &shapeError{offset: off, msg: fmt.Sprintf("%s: want an object, got %s", what, tokenName(tok))}
	}
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return d.shape("%s: want a key", what)
		}
		if err := each(key); err != nil {
			return err
		}
	}
	_, err = d.dec.Token() // '}'
	return err
}

// skip is a value decoded and discarded without allocating.
type skip struct{}

// UnmarshalJSON discards the value.
func (*skip) UnmarshalJSON([]byte) error { return nil }

// skipValue skips the next value. An object or list is skipped entry by
// entry, so a large section (macros, docs) never sits whole in the
// decoder's buffer.
func (d *decoder) skipValue(string) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar, consumed
	}
	for d.dec.More() {
		if delim == '{' {
			if _, err := d.dec.Token(); err != nil { // the key
				return err
			}
		}
		if err := d.dec.Decode(&skip{}); err != nil {
			return err
		}
	}
	_, err = d.dec.Token()
	return err
}

func (d *decoder) manifest() (*Manifest, error) {
	m := &Manifest{Nodes: make(map[string]*Node), Groups: make(map[string]*Group)}
	err := d.object("manifest", func(key string) error {
		switch key {
		case "metadata":
			var md rawMetadata
			if err := d.dec.Decode(&md); err != nil {
				return err
			}
			m.SchemaVersion, m.DBTVersion, m.ProjectName, m.GeneratedAt = md.SchemaVersion, md.DBTVersion, md.ProjectName, md.GeneratedAt
			return nil
		case "nodes", "sources", "exposures", "unit_tests":
			return d.object(key, func(id string) error {
				var rn rawNode
				if err := d.dec.Decode(&rn); err != nil {
					return err
				}
				n := d.node(id, &rn)
				if key == "unit_tests" && n.ResourceType == "" {
					n.ResourceType = TypeUnitTest
				}
				m.Nodes[n.UniqueID] = n
				return nil
			})
		case "groups":
			return d.object(key, func(id string) error {
				var rg rawGroup
				if err := d.dec.Decode(&rg); err != nil {
					return err
				}
				g := &Group{UniqueID: d.str(id), Name: rg.Name, Owner: rg.Owner.first()}
				m.Groups[g.UniqueID] = g
				return nil
			})
		case "parent_map", "child_map":
			mp := make(map[string][]string)
			err := d.object(key, func(id string) error {
				var ids []string
				if err := d.dec.Decode(&ids); err != nil {
					return err
				}
				mp[d.str(id)] = d.strs(ids)
				return nil
			})
			if err != nil {
				return err
			}
			if key == "parent_map" {
				m.ParentMap = mp
			} else {
				m.ChildMap = mp
			}
			return nil
		default:
			return d.skipValue(key)
		}
	})
	if err != nil {
		return nil, d.fail(err)
	}
	// Anything after the top-level object other than space is an error.
	if _, err := d.dec.Token(); err != io.EOF {
		if err == nil {
			err = d.shape("data after the manifest's closing brace")
		}
		return nil, d.fail(err)
	}
	if d.tr.err != nil {
		return nil, &ReadError{Err: d.tr.err}
	}
	if m.SchemaVersion == "" && len(m.Nodes) == 0 && m.ParentMap == nil {
		return nil, &SyntaxError{Offset: 0, Msg: "no metadata, nodes or parent_map: this is not a dbt manifest.json"}
	}
	return m, nil
}

func (d *decoder) node(id string, rn *rawNode) *Node {
	n := &Node{
		UniqueID:         d.str(id),
		Name:             rn.Name,
		ResourceType:     d.str(rn.ResourceType),
		PackageName:      d.str(rn.PackageName),
		OriginalFilePath: rn.OriginalFilePath,
		Materialized:     d.str(rn.Config.Materialized),
		Group:            rn.Group,
		DependsOn:        d.strs(rn.DependsOn.Nodes),
		SourceName:       rn.SourceName,
		ExposureType:     d.str(rn.Type),
		Maturity:         d.str(rn.Maturity),
		URL:              rn.URL,
		Label:            rn.Label,
		Version:          string(rn.Version),
		LatestVersion:    string(rn.LatestVersion),
	}
	if n.Group == "" {
		n.Group = rn.Config.Group
	}
	switch {
	case n.ResourceType == TypeExposure:
		n.Owners = rn.Owner.all()
	case len(rn.Meta.Owner) > 0:
		n.Owners = rn.Meta.Owner
	case len(rn.Config.Meta.Owner) > 0:
		n.Owners = rn.Config.Meta.Owner
	}
	if n.ResourceType == "" {
		n.ResourceType = d.str(typeOf(id))
	}
	for i, o := range n.Owners {
		n.Owners[i] = d.str(o)
	}
	return n
}

// typeOf is the resource type a unique_id starts with.
func typeOf(id string) string {
	t, _, _ := strings.Cut(id, ".")
	return t
}

type rawMetadata struct {
	SchemaVersion string `json:"dbt_schema_version"`
	DBTVersion    string `json:"dbt_version"`
	ProjectName   string `json:"project_name"`
	GeneratedAt   string `json:"generated_at"`
}

// rawNode is the union of the node, source and exposure fields lineage
// keeps; encoding/json scans past every other field without storing it.
type rawNode struct {
	Name             string   `json:"name"`
	ResourceType     string   `json:"resource_type"`
	PackageName      string   `json:"package_name"`
	OriginalFilePath string   `json:"original_file_path"`
	Group            string   `json:"group"`
	SourceName       string   `json:"source_name"`
	Type             string   `json:"type"`
	Maturity         string   `json:"maturity"`
	URL              string   `json:"url"`
	Label            string   `json:"label"`
	Version          version  `json:"version"`
	LatestVersion    version  `json:"latest_version"`
	Meta             rawMeta  `json:"meta"`
	Owner            rawOwner `json:"owner"`
	Config           struct {
		Materialized string  `json:"materialized"`
		Group        string  `json:"group"`
		Meta         rawMeta `json:"meta"`
	} `json:"config"`
	DependsOn struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
}

type rawMeta struct {
	Owner owners `json:"owner"`
}

type rawGroup struct {
	Name  string   `json:"name"`
	Owner rawOwner `json:"owner"`
}

// rawOwner is dbt's owner object: name, and email as a string or (dbt
// 1.8+) a list of strings.
type rawOwner struct {
	Name  string `json:"name"`
	Email owners `json:"email"`
}

// first is the owner's name, else its first email.
func (o rawOwner) first() string {
	if o.Name != "" {
		return o.Name
	}
	if len(o.Email) > 0 {
		return o.Email[0]
	}
	return ""
}

// all is the owner's name, else its emails.
func (o rawOwner) all() []string {
	if o.Name != "" {
		return []string{o.Name}
	}
	return o.Email
}

// owners is an owner written as a string, a list of strings or an object
// with name and email, as teams write meta.owner in different ways.
type owners []string

// UnmarshalJSON accepts a string, a list of strings, an object with name
// or email, or null; anything else is ignored (meta is free-form).
func (o *owners) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s = strings.TrimSpace(s); s != "" {
			*o = owners{s}
		}
		return nil
	}
	var list []string
	if json.Unmarshal(b, &list) == nil {
		var out owners
		for _, s := range list {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*o = out
		return nil
	}
	var obj rawOwner
	if json.Unmarshal(b, &obj) == nil {
		*o = obj.all()
	}
	return nil
}

// version is a model version, which dbt writes as a number or a string.
type version string

// UnmarshalJSON accepts a string, a number or null.
func (v *version) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*v = version(s)
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*v = version(n.String())
	}
	return nil
}
