// Package secret reads the secrets datasev's integrations need from the
// environment, one way for all of them: a variable NAME holds the value, or
// NAME_FILE names a file that holds it (a mounted Docker or Kubernetes
// secret). Secrets never come from runbook inputs or workflow payloads.
package secret

import (
	"fmt"
	"os"
	"strings"
)

// FileSuffix is appended to a secret's variable name to name the variable
// holding its file's path.
const FileSuffix = "_FILE"

// FromEnv returns the secret name through getenv: the variable's value, or
// the content of the file name+"_FILE" names, without its trailing line
// break. Setting both is an error, as are a file that cannot be read and an
// empty one; setting neither returns "" and no error. Errors name the
// variable and the file, never the secret.
func FromEnv(getenv func(string) string, name string) (string, error) {
	v, path := getenv(name), strings.TrimSpace(getenv(name+FileSuffix))
	switch {
	case path == "":
		return v, nil
	case v != "":
		return "", fmt.Errorf("%s and %s%s are both set; set one", name, name, FileSuffix)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s%s: %w", name, FileSuffix, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%s%s: %s is empty", name, FileSuffix, path)
	}
	return s, nil
}

// Field is a secret to read: its variable's name and where its value goes.
type Field struct {
	Name string
	Dst  *string
}

// FromEnvAll reads each field's secret with FromEnv, in order, and returns
// the errors (a field with an error keeps its value).
func FromEnvAll(getenv func(string) string, fields ...Field) []error {
	var errs []error
	for _, f := range fields {
		v, err := FromEnv(getenv, f.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		*f.Dst = v
	}
	return errs
}
