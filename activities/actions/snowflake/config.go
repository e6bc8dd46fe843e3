package snowflake

import (
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/snowflakedb/gosnowflake"
)

// Environment variables read by LoadConfig.
const (
	EnvAccount        = "DATASEV_SNOWFLAKE_ACCOUNT"
	EnvUser           = "DATASEV_SNOWFLAKE_USER"
	EnvRole           = "DATASEV_SNOWFLAKE_ROLE"
	EnvWarehouse      = "DATASEV_SNOWFLAKE_WAREHOUSE"
	EnvDatabase       = "DATASEV_SNOWFLAKE_DATABASE"
	EnvSchema         = "DATASEV_SNOWFLAKE_SCHEMA"
	EnvHost           = "DATASEV_SNOWFLAKE_HOST"
	EnvPort           = "DATASEV_SNOWFLAKE_PORT"
	EnvProtocol       = "DATASEV_SNOWFLAKE_PROTOCOL"
	EnvPassword       = "DATASEV_SNOWFLAKE_PASSWORD"
	EnvPasswordFile   = "DATASEV_SNOWFLAKE_PASSWORD_FILE"
	EnvPrivateKeyFile = "DATASEV_SNOWFLAKE_PRIVATE_KEY_FILE"
	EnvMaxRetries     = "DATASEV_SNOWFLAKE_MAX_RETRIES"
)

// Connection defaults.
const (
	// DefaultMaxRetries is how often the driver itself retries an HTTP
	// request that failed on the network or with a 5xx/429, before the
	// activity fails and Temporal's retry policy takes over.
	DefaultMaxRetries = 3
	// LoginTimeout bounds a login, retries included.
	LoginTimeout = time.Minute
	// ResultFormat is the session's GO_QUERY_RESULT_FORMAT: diagnostics
	// return few rows, and JSON rowsets are what the tests exercise.
	ResultFormat = "json"
	// ApplicationName is reported to Snowflake with every login.
	ApplicationName = "datasev"
)

// Config is the Snowflake connection of the worker. It holds secrets: it
// is built in the worker from the environment and never travels in
// workflow inputs; String and LogValue redact them.
type Config struct {
	// Account is the account identifier (orgname-account_name, or the
	// legacy locator such as xy12345.eu-west-1).
	Account string
	// User is the login name.
	User string
	// Role, Warehouse, Database and Schema are the session's defaults.
	// The INFORMATION_SCHEMA table functions need a current database.
	Role, Warehouse, Database, Schema string
	// Host, Port and Protocol override the address derived from the
	// account: for proxies, PrivateLink hosts and the test stand-in.
	Host     string
	Port     int
	Protocol string
	// Password authenticates with user and password when PrivateKey is nil.
	Password string
	// PrivateKey authenticates with a key-pair JWT (SNOWFLAKE_JWT).
	PrivateKey *rsa.PrivateKey
	// MaxRetries is the driver's own retry count per HTTP request
	// (default DefaultMaxRetries).
	MaxRetries int
}

// Configured reports whether Snowflake is configured at all: an account
// is set. A worker without it registers the actions, which then fail
// non-retryably saying so.
func (c Config) Configured() bool { return c.Account != "" }

// LoadConfig reads the configuration from getenv (os.Getenv in the
// worker). With no DATASEV_SNOWFLAKE_ACCOUNT it returns a zero Config and
// no error: Snowflake is not configured. Otherwise the user and one way to
// authenticate are required: DATASEV_SNOWFLAKE_PRIVATE_KEY_FILE (PEM,
// unencrypted PKCS #8, or PKCS #1) for key-pair authentication, or
// DATASEV_SNOWFLAKE_PASSWORD / DATASEV_SNOWFLAKE_PASSWORD_FILE.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		Account:   get(EnvAccount),
		User:      get(EnvUser),
		Role:      get(EnvRole),
		Warehouse: get(EnvWarehouse),
		Database:  get(EnvDatabase),
		Schema:    get(EnvSchema),
		Host:      get(EnvHost),
		Protocol:  strings.ToLower(get(EnvProtocol)),
	}
	if c.Account == "" {
		return Config{}, nil
	}
	if c.User == "" {
		return Config{}, fmt.Errorf("%s is set but %s is not", EnvAccount, EnvUser)
	}
	if v := get(EnvPort); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			return Config{}, fmt.Errorf("%s=%q: want a port number", EnvPort, v)
		}
		c.Port = p
	}
	switch c.Protocol {
	case "", "https", "http":
	default:
		return Config{}, fmt.Errorf("%s=%q: want https or http", EnvProtocol, c.Protocol)
	}
	if v := get(EnvMaxRetries); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			return Config{}, fmt.Errorf("%s=%q: want a whole number from 1 to 20", EnvMaxRetries, v)
		}
		c.MaxRetries = n
	}

	// Secrets: the raw value of a variable (a password may have spaces).
	password := getenv(EnvPassword)
	passwordFile := get(EnvPasswordFile)
	keyFile := get(EnvPrivateKeyFile)
	if password != "" && passwordFile != "" {
		return Config{}, fmt.Errorf("set %s or %s, not both", EnvPassword, EnvPasswordFile)
	}
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", EnvPasswordFile, err)
		}
		password = strings.TrimRight(string(b), "\r\n")
		if password == "" {
			return Config{}, fmt.Errorf("%s: %s is empty", EnvPasswordFile, passwordFile)
		}
	}
	if keyFile != "" {
		if password != "" {
			return Config{}, fmt.Errorf("set a private key (%s) or a password, not both", EnvPrivateKeyFile)
		}
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", EnvPrivateKeyFile, err)
		}
		key, err := ParsePrivateKey(b)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %s: %w", EnvPrivateKeyFile, keyFile, err)
		}
		c.PrivateKey = key
	} else {
		c.Password = password
	}
	if c.PrivateKey == nil && c.Password == "" {
		return Config{}, fmt.Errorf("Snowflake account %s: no credentials; set %s (key-pair) or %s / %s",
			c.Account, EnvPrivateKeyFile, EnvPassword, EnvPasswordFile)
	}
	return c, nil
}

// ParsePrivateKey reads an RSA private key from PEM: PKCS #8 ("PRIVATE
// KEY", what `openssl genrsa | openssl pkcs8 -topk8 -nocrypt` writes) or
// PKCS #1 ("RSA PRIVATE KEY"). Encrypted keys are refused: decrypt the key
// into a file only the worker can read.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block; want a PEM private key (-----BEGIN PRIVATE KEY-----)")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS #8 key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T key; Snowflake key-pair authentication takes RSA keys", k)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS #1 key: %w", err)
		}
		return k, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the key is encrypted; decrypt it (openssl pkcs8 -in key.p8 -out key.pem) into a file only the worker can read")
	}
	return nil, fmt.Errorf("PEM block %q; want PRIVATE KEY (PKCS #8)", block.Type)
}

// Authenticator names how the configuration logs in: "SNOWFLAKE_JWT"
// (key pair), "SNOWFLAKE" (password) or "" (none).
func (c Config) Authenticator() string {
	switch {
	case c.PrivateKey != nil:
		return gosnowflake.AuthTypeJwt.String()
	case c.Password != "":
		return gosnowflake.AuthTypeSnowflake.String()
	}
	return ""
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "snowflake account=%s user=%s auth=%s", c.Account, c.User, c.Authenticator())
	for _, kv := range [][2]string{{"role", c.Role}, {"warehouse", c.Warehouse}, {"database", c.Database}, {"schema", c.Schema}, {"host", c.Host}, {"protocol", c.Protocol}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
		}
	}
	if c.Port != 0 {
		fmt.Fprintf(&b, " port=%d", c.Port)
	}
	return b.String()
}

// GoString is String, so %#v does not print the secrets either.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog print the configuration without its secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account", c.Account),
		slog.String("user", c.User),
		slog.String("auth", c.Authenticator()),
		slog.String("role", c.Role),
		slog.String("warehouse", c.Warehouse),
		slog.String("database", c.Database),
		slog.String("host", c.Host),
	)
}

// DriverConfig is the gosnowflake configuration for c: the session's
// defaults, password or key-pair (JWT) authentication, JSON result sets,
// no telemetry to Snowflake, and bounded login and retries. Over https the
// driver keeps checking certificate revocation (OCSP); over http (the
// local stand-in) there is no certificate to check.
func (c Config) DriverConfig() (gosnowflake.Config, error) {
	if !c.Configured() {
		return gosnowflake.Config{}, errors.New("snowflake: no account configured")
	}
	format := ResultFormat
	dc := gosnowflake.Config{
		Account:          c.Account,
		User:             c.User,
		Role:             c.Role,
		Warehouse:        c.Warehouse,
		Database:         c.Database,
		Schema:           c.Schema,
		Host:             c.Host,
		Port:             c.Port,
		Protocol:         c.Protocol,
		Application:      ApplicationName,
		DisableTelemetry: true,
		LoginTimeout:     LoginTimeout,
		MaxRetryCount:    c.MaxRetries,
		Params:           map[string]*string{"GO_QUERY_RESULT_FORMAT": &format},
	}
	if dc.MaxRetryCount == 0 {
		dc.MaxRetryCount = DefaultMaxRetries
	}
	switch {
	case c.PrivateKey != nil:
		dc.Authenticator = gosnowflake.AuthTypeJwt
		dc.PrivateKey = c.PrivateKey
	case c.Password != "":
		dc.Authenticator = gosnowflake.AuthTypeSnowflake
		dc.Password = c.Password
	default:
		return gosnowflake.Config{}, fmt.Errorf("snowflake account %s: no password or private key", c.Account)
	}
	if c.Protocol == "http" {
		// No TLS, so no certificate whose revocation could be checked.
		dc.DisableOCSPChecks = true
	}
	return dc, nil
}

// Pool limits of the *sql.DB Open returns.
const (
	MaxOpenConns    = 4
	MaxIdleConns    = 2
	ConnMaxIdleTime = 30 * time.Minute
	// ConnMaxLifetime is below the master token's four-hour validity, so
	// a pooled session is replaced before it can no longer be renewed.
	ConnMaxLifetime = 3 * time.Hour
)

// Open returns a database handle for c through gosnowflake's connector.
// It does not connect: the first action logs in, so a worker starts while
// Snowflake is unreachable and the actions retry.
func Open(c Config) (*sql.DB, error) {
	dc, err := c.DriverConfig()
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, dc))
	db.SetMaxOpenConns(MaxOpenConns)
	db.SetMaxIdleConns(MaxIdleConns)
	db.SetConnMaxIdleTime(ConnMaxIdleTime)
	db.SetConnMaxLifetime(ConnMaxLifetime)
	return db, nil
}
