// Command vulndb is the govulncheck step of .ci/run (see .ci/govulncheck),
// for a machine that reaches the Go module proxy but not the vulnerability
// database's own host.
//
//	vulndb build [-module golang.org/x/vulndb@latest] -cache DIR
//
// fetches the golang.org/x/vulndb module through the module proxy (go mod
// download) and builds from the OSV entries it carries in data/osv an
// offline copy of the Go vulnerability database, in the layout that
// `govulncheck -db file:///…` reads:
//
//	index/db.json       {"modified": …}
//	index/modules.json  [{"path": …, "vulns": [{"id", "modified", "fixed"}]}]
//	index/vulns.json    [{"id", "modified", "aliases"}]
//	ID/GO-YYYY-NNNN.json
//
// in DIR/vulndb-<version>, unless it is there already, and prints that
// directory. It does what vulndb's own cmd/indexdb does (its
// internal/database New and Write), with the standard library only, so CI
// need not build vulndb's dependencies (git, cloud clients) to get it. The
// entries in data/osv carry no modification time (the published database
// takes it from the repository's history): the module version's commit time
// stands in for it.
//
//	vulndb check -allow FILE < govulncheck.json
//
// reads `govulncheck -format json`, prints each vulnerability found with
// how far it reaches (called, imported, required) and an example call
// path, and fails when any called one is not in the allow-list FILE: lines
// of "ID module justification", '#' comments. An entry that matches nothing
// fails too, so the list cannot outlive its reason.
//
// Dev and CI tooling only: nothing in the module imports it, and ./...
// leaves .ci out.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("vulndb: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: vulndb build|check [flags]")
	}
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "build":
		fs := flag.NewFlagSet("build", flag.ExitOnError)
		module := fs.String("module", "golang.org/x/vulndb@latest", "module@version whose data/osv holds the entries")
		cache := fs.String("cache", "", "directory holding the built databases")
		_ = fs.Parse(args)
		if *cache == "" || fs.NArg() != 0 {
			fs.Usage()
			os.Exit(2)
		}
		dir, err := buildCached(*module, *cache)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(dir)
	case "check":
		fs := flag.NewFlagSet("check", flag.ExitOnError)
		allowFile := fs.String("allow", "", "allow-list file")
		_ = fs.Parse(args)
		if fs.NArg() != 0 {
			fs.Usage()
			os.Exit(2)
		}
		var allow []allowed
		if *allowFile != "" {
			var err error
			if allow, err = readAllowList(*allowFile); err != nil {
				log.Fatal(err)
			}
		}
		ok, err := check(os.Stdin, os.Stdout, allow)
		if err != nil {
			log.Fatal(err)
		}
		if !ok {
			os.Exit(1)
		}
	default:
		log.Fatalf("unknown command %q: want build or check", cmd)
	}
}

// buildCached resolves module through the module proxy and returns the
// directory of its database under cache, building it first if it is not
// there.
func buildCached(module, cache string) (string, error) {
	var info struct {
		Path, Version, Dir, Info, Error string
	}
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = os.TempDir() // outside any module: go.mod and go.sum stay as they are
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	runErr := cmd.Run()
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %v (%v)", module, runErr, err)
	}
	if info.Error != "" || runErr != nil {
		return "", fmt.Errorf("go mod download %s: %s %v", module, info.Error, runErr)
	}
	out := filepath.Join(cache, "vulndb-"+info.Version)
	if _, err := os.Stat(filepath.Join(out, "index", "db.json")); err == nil {
		log.Printf("%s@%s: database in %s", info.Path, info.Version, out)
		return out, nil
	}
	var meta struct{ Time time.Time }
	b, err := os.ReadFile(info.Info)
	if err == nil {
		err = json.Unmarshal(b, &meta)
	}
	if err != nil || meta.Time.IsZero() {
		return "", fmt.Errorf("%s@%s: no commit time in %s: %v", info.Path, info.Version, info.Info, err)
	}
	n, err := build(filepath.Join(info.Dir, "data", "osv"), out, meta.Time.UTC())
	if err != nil {
		return "", err
	}
	log.Printf("%s@%s: %d entries, database built in %s", info.Path, info.Version, n, out)
	return out, nil
}
