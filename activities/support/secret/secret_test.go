package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, empty := write("good", "s3cr3t value\r\n"), write("empty", "\n")
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"neither", nil, "", ""},
		{"value", map[string]string{"X_TOKEN": "abc"}, "abc", ""},
		{"file, line break trimmed", map[string]string{"X_TOKEN_FILE": good}, "s3cr3t value", ""},
		{"both", map[string]string{"X_TOKEN": "abc", "X_TOKEN_FILE": good}, "", "X_TOKEN and X_TOKEN_FILE are both set"},
		{"missing file", map[string]string{"X_TOKEN_FILE": filepath.Join(dir, "nope")}, "", "X_TOKEN_FILE: open"},
		{"empty file", map[string]string{"X_TOKEN_FILE": empty}, "", "X_TOKEN_FILE: " + empty + " is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromEnv(func(k string) string { return tc.env[k] }, "X_TOKEN")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestFromEnvAllReadsEachAndKeepsEveryError(t *testing.T) {
	env := map[string]string{"A": "one", "B": "two", "B_FILE": "/nowhere"}
	var a, b string
	errs := FromEnvAll(func(k string) string { return env[k] },
		Field{Name: "A", Dst: &a}, Field{Name: "B", Dst: &b})
	if a != "one" || b != "" {
		t.Errorf("a=%q b=%q, want a=one and b unset", a, b)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "B") {
		t.Errorf("errors %v, want one naming B", errs)
	}
}
