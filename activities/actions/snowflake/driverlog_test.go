package snowflake_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/snowflakedb/gosnowflake"

	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
)

// The child process of TestDriverLogsNoSecrets: the test binary run again
// with these variables set.
const (
	envLogChild    = "DATASEV_TEST_SFLOG_CHILD" // "mitigated" or "control"
	envLogPassword = "DATASEV_TEST_SFLOG_PASSWORD"
	envLogKeyFile  = "DATASEV_TEST_SFLOG_KEY_FILE"
	envLogChunkURL = "DATASEV_TEST_SFLOG_CHUNK_URL"
)

// TestDriverLogsNoSecrets: GO-2026-6665, gosnowflake v1 writing secrets to
// its logs. A fresh process (this test binary again) asks the driver for its
// most verbose logs — TRACE into a file, through a client configuration
// file (SF_CLIENT_CONFIG_FILE), which the driver reads at its first
// connection — logs datasev's side with slog at debug to stderr, and then
// logs in to the stand-in with a password and with a key pair, runs
// statements, has an expired session renewed, meets HTTP 500s and an expired
// master token, and fails a login with a wrong password. The driver also
// logs, the way it does when it downloads a result chunk, a presigned URL
// whose security token its own masking cuts only in part. Then no secret
// (passwords, the private key, the JWT, session and master tokens, the
// chunk's token) may appear in the process's stdout, stderr (slog and the
// driver's default output) or the driver's log file; and the driver wrote
// nothing at all.
//
// The control run does the same with gosnowflake's own logger put back (the
// mitigation removed): the driver's log file fills, and the chunk's token
// shows in it, so the assertions above are not vacuous.
func TestDriverLogsNoSecrets(t *testing.T) {
	if mode := os.Getenv(envLogChild); mode != "" {
		driverLogChild(t, mode)
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary twice")
	}
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	password := "Pw-" + randomHex(t, 12)
	chunkToken := "FwoGZXIvYXdzE" + "%2F%2F%2F%2F" + randomHex(t, 16) + "%2B" + randomHex(t, 16)
	chunkURL := "https://sfc-ds1-customer-stage.s3.amazonaws.com/results/01b2/main/data_0_0_1?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Security-Token=" + chunkToken + "&X-Amz-Signature=" + randomHex(t, 32)

	// Secrets, each as a string that must not appear anywhere: the
	// password (and the wrong one tried), the key's base64 (each PEM line),
	// the chunk token past the part the driver's masking catches.
	secrets := map[string]string{
		"password":       password,
		"wrong password": "wrong-" + password,
		"chunk token":    chunkToken[strings.Index(chunkToken, "%"):],
	}
	for i, line := range strings.Split(string(keyPEM), "\n") {
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			secrets[fmt.Sprintf("private key line %d", i)] = line
		}
	}
	// Patterns of secrets the test does not know in advance.
	patterns := map[string]*regexp.Regexp{
		"session or master token": regexp.MustCompile(`sftest-(session|master)-[0-9a-f]{4}`),
		"JWT":                     regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.`),
	}

	run := func(mode string) (output, driverLog string) {
		t.Helper()
		cdir := filepath.Join(dir, mode)
		logDir := filepath.Join(cdir, "logs")
		if err := os.MkdirAll(logDir, 0o700); err != nil {
			t.Fatal(err)
		}
		clientConfig := filepath.Join(cdir, "sf_client_config.json")
		if err := os.WriteFile(clientConfig, fmt.Appendf(nil, `{"common": {"log_level": "TRACE", "log_path": %q}}`, logDir), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestDriverLogsNoSecrets$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(),
			envLogChild+"="+mode,
			envLogPassword+"="+password,
			envLogKeyFile+"="+keyFile,
			envLogChunkURL+"="+chunkURL,
			"SF_CLIENT_CONFIG_FILE="+clientConfig,
			"HOME="+cdir,
			"SF_DISABLE_MINICORE=true",
			"SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true",
		)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s child: %v\n%s", mode, err, out)
		}
		if !bytes.Contains(out, []byte("--- PASS: TestDriverLogsNoSecrets")) {
			t.Fatalf("%s child did not pass:\n%s", mode, out)
		}
		b, err := os.ReadFile(filepath.Join(logDir, "go", "snowflake.log"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return string(out), string(b)
	}

	out, driverLog := run("mitigated")
	for where, text := range map[string]string{"stdout and stderr (slog, the driver's default output)": out, "the driver's log file": driverLog} {
		for name, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s: the %s appears in %s", name, name, where)
			}
		}
		for name, re := range patterns {
			if m := re.FindString(text); m != "" {
				t.Errorf("a %s (%s…) appears in %s", name, m, where)
			}
		}
	}
	if driverLog != "" {
		t.Errorf("the driver wrote to its log file:\n%.2000s", driverLog)
	}
	if strings.Contains(out, "gosnowflake") || strings.Contains(out, "msg=\"HTTP:") {
		t.Errorf("the driver wrote to stdout or stderr:\n%.4000s", out)
	}
	// The child's slog output is there (the capture works).
	if !strings.Contains(out, "snowflake configured") || !strings.Contains(out, "login refused") {
		t.Errorf("the child's slog lines are missing:\n%.4000s", out)
	}

	_, controlLog := run("control")
	if !strings.Contains(controlLog, "Authentication SUCCESS") {
		t.Fatalf("control: gosnowflake's own logger wrote no TRACE log of the logins, so the test cannot see a leak:\n%.2000s", controlLog)
	}
	if !strings.Contains(controlLog, secrets["chunk token"]) {
		t.Errorf("control: the chunk token does not show in gosnowflake's own log; the leak the mitigation stops is not exercised:\n%.2000s", controlLog)
	}
}

// driverLogChild is the child process's part of TestDriverLogsNoSecrets.
func driverLogChild(t *testing.T, mode string) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if mode == "control" {
		// The mitigation removed: gosnowflake's own logger, as the driver
		// starts with it.
		l := gosnowflake.CreateDefaultLogger()
		_ = l.SetLogLevel("error")
		gosnowflake.SetLogger(&l)
	}
	password := os.Getenv(envLogPassword)
	key, err := os.ReadFile(os.Getenv(envLogKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := snowflake.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	for _, login := range []string{"password", "key pair", "wrong password"} {
		srv, err := sftest.New(sftest.Options{Password: password, PublicKey: &priv.PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		srv.OnQuery(func(q sftest.Query) sftest.Result {
			return sftest.Rows([]sftest.Column{sftest.Fixed("N")}, []any{1})
		})
		env := srv.Env()
		switch login {
		case "key pair":
			delete(env, "DATASEV_SNOWFLAKE_PASSWORD")
			env["DATASEV_SNOWFLAKE_PRIVATE_KEY_FILE"] = os.Getenv(envLogKeyFile)
		case "wrong password":
			env["DATASEV_SNOWFLAKE_PASSWORD"] = "wrong-" + password
		}
		cfg, err := snowflake.LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		slog.Info("snowflake configured", "config", cfg)
		db, err := snowflake.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		query := func(step string) error {
			var n int
			err := db.QueryRowContext(ctx, "SELECT 1 AS N").Scan(&n)
			slog.Debug("statement", "login", login, "step", step, "err", err)
			return err
		}
		if login == "wrong password" {
			if err := query("login"); err == nil {
				t.Errorf("%s: logged in", login)
			} else {
				slog.Error("login refused", "err", err)
			}
		} else {
			if err := query("login"); err != nil {
				t.Fatalf("%s: %v", login, err)
			}
			srv.ExpireSessions() // the driver renews with the master token
			if err := query("renewed"); err != nil {
				t.Fatalf("%s after renewal: %v", login, err)
			}
			srv.FailNext(sftest.QueryPath, 500) // retried
			if err := query("after a 500"); err != nil {
				t.Fatalf("%s after a 500: %v", login, err)
			}
			srv.ExpireMasterTokens()
			if err := query("master token expired"); err == nil {
				t.Errorf("%s: a statement ran on an expired master token", login)
			}
		}
		db.Close()
		srv.Close()
	}
	// What the driver logs when it downloads a result chunk
	// (chunk_downloader.go): the stand-in serves no chunks.
	gosnowflake.GetLogger().WithContext(ctx).Debugf("response returned chunk: %v for URL: %v", 1, os.Getenv(envLogChunkURL))
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}
