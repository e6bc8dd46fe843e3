package snowflake_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/snowflakedb/gosnowflake"

	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
)

var (
	keyOnce sync.Once
	keys    [2]*rsa.PrivateKey
)

// testKeys are two RSA keys, generated once.
func testKeys(t *testing.T) [2]*rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		for i := range keys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys[i] = k
		}
	})
	return keys
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigNotConfigured(t *testing.T) {
	c, err := snowflake.LoadConfig(envOf(nil))
	if err != nil || c.Configured() {
		t.Fatalf("%v %v", c, err)
	}
	if _, err := snowflake.Open(c); err == nil {
		t.Error("Open without an account")
	}
}

func TestLoadConfigPassword(t *testing.T) {
	file := writeFile(t, "pw", []byte("s3cret pass\n"))
	c, err := snowflake.LoadConfig(envOf(map[string]string{
		snowflake.EnvAccount: "myorg-acct", snowflake.EnvUser: "datasev", snowflake.EnvRole: "DATASEV_READONLY",
		snowflake.EnvWarehouse: "DIAG_WH", snowflake.EnvDatabase: "ANALYTICS", snowflake.EnvSchema: "RAW",
		snowflake.EnvPasswordFile: file,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Password != "s3cret pass" || c.Authenticator() != "SNOWFLAKE" {
		t.Fatalf("config %+v", c)
	}
	dc, err := c.DriverConfig()
	if err != nil {
		t.Fatal(err)
	}
	if dc.Account != "myorg-acct" || dc.User != "datasev" || dc.Password != "s3cret pass" || dc.Authenticator != gosnowflake.AuthTypeSnowflake ||
		dc.Role != "DATASEV_READONLY" || dc.Warehouse != "DIAG_WH" || dc.Database != "ANALYTICS" || dc.Schema != "RAW" ||
		!dc.DisableTelemetry || dc.DisableOCSPChecks || dc.Application != "datasev" || dc.MaxRetryCount != snowflake.DefaultMaxRetries ||
		dc.Params["GO_QUERY_RESULT_FORMAT"] == nil || *dc.Params["GO_QUERY_RESULT_FORMAT"] != "json" || dc.Host != "" || dc.Protocol != "" {
		t.Errorf("driver config %+v", dc)
	}

	// The secret never shows in the config's printed forms.
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("snowflake", "config", c)
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(&c), logged.String()} {
		if strings.Contains(s, "s3cret") || !strings.Contains(s, "myorg-acct") {
			t.Errorf("printed config %q", s)
		}
	}
}

func TestLoadConfigKeyPair(t *testing.T) {
	key := testKeys(t)[0]
	file := writeFile(t, "key.p8", pkcs8PEM(t, key))
	c, err := snowflake.LoadConfig(envOf(map[string]string{
		snowflake.EnvAccount: "xy12345.eu-west-1", snowflake.EnvUser: "datasev", snowflake.EnvPrivateKeyFile: file,
		snowflake.EnvHost: "proxy.internal", snowflake.EnvPort: "8443", snowflake.EnvProtocol: "HTTPS", snowflake.EnvMaxRetries: "5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := c.DriverConfig()
	if err != nil {
		t.Fatal(err)
	}
	if dc.Authenticator != gosnowflake.AuthTypeJwt || dc.PrivateKey == nil || !dc.PrivateKey.Equal(key) || dc.Password != "" ||
		dc.Host != "proxy.internal" || dc.Port != 8443 || dc.Protocol != "https" || dc.MaxRetryCount != 5 {
		t.Errorf("driver config %+v", dc)
	}
	if s := c.String(); !strings.Contains(s, "auth=SNOWFLAKE_JWT") || strings.Contains(s, "PRIVATE") {
		t.Errorf("String %q", s)
	}

	// PKCS #1 is read too; encrypted, non-RSA and non-PEM keys are not.
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if k, err := snowflake.ParsePrivateKey(pkcs1); err != nil || !k.Equal(key) {
		t.Errorf("PKCS #1: %v", err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"is encrypted":            pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2}}),
		"takes RSA keys":          pkcs8PEM(t, ec),
		"no PEM block":            []byte("not a key"),
		`PEM block "CERTIFICATE"`: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}),
	} {
		_, err := snowflake.LoadConfig(envOf(map[string]string{
			snowflake.EnvAccount: "a", snowflake.EnvUser: "u", snowflake.EnvPrivateKeyFile: writeFile(t, "k", data),
		}))
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), snowflake.EnvPrivateKeyFile) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	keyFile := writeFile(t, "key.p8", pkcs8PEM(t, testKeys(t)[0]))
	base := map[string]string{snowflake.EnvAccount: "a", snowflake.EnvUser: "u", snowflake.EnvPassword: "pw-SECRET"}
	for want, change := range map[string]map[string]string{
		"DATASEV_SNOWFLAKE_USER is not": {snowflake.EnvUser: ""},
		"no credentials":                {snowflake.EnvPassword: ""},
		"not both":                      {snowflake.EnvPasswordFile: "/x"},
		"a private key (DATASEV_SNOWFLAKE_PRIVATE_KEY_FILE) or a password": {snowflake.EnvPrivateKeyFile: keyFile},
		"want a port number":               {snowflake.EnvPort: "http"},
		"want https or http":               {snowflake.EnvProtocol: "ftp"},
		"want a whole number from 1 to 20": {snowflake.EnvMaxRetries: "0"},
		"no such file":                     {snowflake.EnvPassword: "", snowflake.EnvPasswordFile: "/nonexistent/pw"},
	} {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range change {
			env[k] = v
		}
		_, err := snowflake.LoadConfig(envOf(env))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want %q", change, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("password in error %v", err)
		}
	}
}

// Key-pair authentication against the stand-in, which verifies the JWT's
// signature and fingerprint against the registered public key.
func TestKeyPairLogin(t *testing.T) {
	ks := testKeys(t)
	good := writeFile(t, "good.p8", pkcs8PEM(t, ks[0]))
	f := setup(t, sftest.Options{PublicKey: &ks[0].PublicKey}, map[string]string{
		snowflake.EnvPassword: "", snowflake.EnvPrivateKeyFile: good,
	})
	f.on("TASK_HISTORY", func(sftest.Query) sftest.Result { return sftest.Rows(taskHistoryColumns) })
	if _, err := f.run(t, snowflake.TaskHistoryName, "t", nil); err != nil {
		t.Fatal(err)
	}
	lg := f.srv.Logins()
	fp, _ := sftest.KeyFingerprint(&ks[0].PublicKey)
	if len(lg) != 1 || !lg[0].OK || lg[0].Authenticator != "SNOWFLAKE_JWT" || lg[0].User != "DATASEV" ||
		lg[0].JWTClaims["sub"] != "SFTEST.DATASEV" || lg[0].JWTClaims["iss"] != "SFTEST.DATASEV."+fp {
		t.Errorf("logins %+v", lg)
	}

	// A key Snowflake does not know is refused, non-retryably.
	bad := writeFile(t, "bad.p8", pkcs8PEM(t, ks[1]))
	f2 := setup(t, sftest.Options{PublicKey: &ks[0].PublicKey}, map[string]string{
		snowflake.EnvPassword: "", snowflake.EnvPrivateKeyFile: bad,
	})
	_, err := f2.run(t, snowflake.TaskHistoryName, "t", nil)
	nonRetryable(t, err, snowflake.AuthType, "390144", "JWT token is invalid")
}
