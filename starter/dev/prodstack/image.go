package prodstack

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Process returns a Process that runs exe (one of the image's binaries)
// the way the container runs it: as the image's USER (when this process is
// root; otherwise as this user), in a read-only working directory, with the
// image's ENV, HOME and the cache in a private writable directory (the
// compose file's tmpfs on /tmp), and env over those as the only other
// environment. Files the process must read are the caller's to make
// readable (Share).
func (img Image) Process(name, exe string, args []string, env map[string]string, dir string, log io.Writer) (*Process, error) {
	root := filepath.Join(dir, name)
	ro := filepath.Join(root, "workdir")
	tmp := filepath.Join(root, "tmp")
	for _, d := range []string{ro, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// The working directory: read-only for the process (the compose file's
	// read_only root file system).
	if err := os.Chmod(ro, 0o555); err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: uint32(img.UID), Gid: uint32(img.GID)}
		for _, d := range []string{root, tmp} {
			if err := os.Chmod(d, 0o755); err != nil {
				return nil, err
			}
		}
		if err := os.Chown(tmp, img.UID, img.GID); err != nil {
			return nil, fmt.Errorf("%s: give its tmp directory to uid %d: %w", name, img.UID, err)
		}
		if err := os.Chmod(tmp, 0o700); err != nil {
			return nil, err
		}
	}
	vars := baseEnv()
	for k, v := range img.Env {
		// The image's /tmp is the process's private tmp directory.
		if v == "/tmp" || strings.HasPrefix(v, "/tmp/") {
			v = tmp + strings.TrimPrefix(v, "/tmp")
		}
		vars[k] = v
	}
	vars["TMPDIR"] = tmp
	for k, v := range env {
		vars[k] = v
	}
	return &Process{Name: name, Path: exe, Args: args, Env: environ(vars), Dir: ro, Credential: cred, Log: log}, nil
}

// Share makes path readable by the image's user: given to it when this
// process is root (a secret file the container would get mounted),
// otherwise left as it is.
func (img Image) Share(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if err := os.Chown(path, img.UID, img.GID); err != nil {
		return fmt.Errorf("give %s to uid %d: %w", path, img.UID, err)
	}
	return nil
}

// ShareTree gives a directory tree to the image's user (the compose file's
// named volumes, which the container writes).
func (img Image) ShareTree(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, img.UID, img.GID)
	})
}
