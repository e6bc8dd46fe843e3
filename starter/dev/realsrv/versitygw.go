package realsrv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// VersityGW is the pinned versitygw, an S3 gateway whose posix backend
// stores buckets as directories. Unlike the in-process stand-in it checks
// every request's SigV4 signature.
var VersityGW = Tool{
	Name:    "versitygw",
	Package: "github.com/versity/versitygw/cmd/versitygw",
	Module:  "github.com/versity/versitygw",
	Version: "v1.8.0",
}

// S3Server is a running versitygw.
type S3Server struct {
	// URL is its S3 endpoint, http://127.0.0.1:PORT (path-style).
	URL string
	// AccessKey and SecretKey are its root credentials.
	AccessKey, SecretKey string
	// Region is the region it signs and checks with.
	Region string
	// Root is the directory whose subdirectories are its buckets.
	Root string
	proc *process
}

// S3Region is the region StartVersityGW's server uses.
const S3Region = "us-east-1"

// StartVersityGW runs exe (see VersityGW) on a free loopback port with the
// posix backend on dir/buckets and root credentials access and secret. No
// web UI, admin API, event, metrics or IAM service is enabled. It returns
// once its health endpoint answers.
func StartVersityGW(ctx context.Context, exe, dir, access, secret string) (*S3Server, error) {
	root := filepath.Join(dir, "buckets")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("versitygw: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("versitygw: %w", err)
	}
	const health = "/datasev-health"
	p, err := startProcess("versitygw", exe, dir,
		"--port", loopback(port),
		"--access", access,
		"--secret", secret,
		"--region", S3Region,
		"--health", health,
		"--quiet",
		"posix", root,
	)
	if err != nil {
		return nil, err
	}
	s := &S3Server{URL: "http://" + loopback(port), AccessKey: access, SecretKey: secret, Region: S3Region, Root: root, proc: p}
	if err := p.waitReady(ctx, s.URL+health); err != nil {
		p.stop()
		return nil, err
	}
	return s, nil
}

// Stop stops the server.
func (s *S3Server) Stop() { s.proc.stop() }

// Log is the end of the server's log.
func (s *S3Server) Log() string { return s.proc.log.String() }
