package snowflake

import (
	"io"
	"os"

	"github.com/sirupsen/logrus"
	"github.com/snowflakedb/gosnowflake"
)

// The driver's own logging is off.
//
// gosnowflake v1 logs through a logger of its own (logrus): errors to
// stderr by default, and, once the first connection opens, whatever a
// client configuration file asks for ("easy logging": sf_client_config.json
// beside the executable or in the home directory, or SF_CLIENT_CONFIG_FILE),
// up to TRACE into a file. At those levels it writes login and request URLs,
// response bodies and headers, and the presigned URLs of result chunks, and
// its own masking (a set of regular expressions over the message) lets parts
// of secrets through: GO-2026-6665 (CVE-2026-86597, GHSA-qqj6-54q6-cxv6),
// fixed only in the gosnowflake/v2 module.
//
// datasev needs none of it: every driver failure reaches the action as an
// error, which classify turns into the activity's typed error. So, when this
// package is initialized, the driver's logger is replaced by one that writes
// nothing at any level, and that neither SetLogLevel, SetOutput nor easy
// logging (which swaps loggers through Replace) can turn back on. A client
// configuration file may still make the driver create its log directory and
// an empty snowflake.log; nothing is written to it.
func init() { silenceDriver() }

// silenceDriver installs the silent logger as gosnowflake's.
func silenceDriver() {
	var l gosnowflake.SFLogger = newSilentLogger()
	gosnowflake.SetLogger(&l)
}

// silentLogger is a gosnowflake.SFLogger that writes nothing. It embeds a
// logrus logger for the logging methods (Tracef … Panicln, WithField …),
// whose level admits only panics, whose output is discarded and whose
// formatter formats nothing; the configuration methods the driver calls
// are no-ops.
type silentLogger struct {
	*logrus.Logger
}

func newSilentLogger() *silentLogger {
	l := logrus.New()
	l.Out = io.Discard
	l.Level = logrus.PanicLevel
	l.Formatter = nothingFormatter{}
	l.Hooks = make(logrus.LevelHooks)
	return &silentLogger{Logger: l}
}

// SetLogLevel ignores the level: the driver's logging stays off.
func (*silentLogger) SetLogLevel(string) error { return nil }

// GetLogLevel is "OFF", the driver's name for no logging.
func (*silentLogger) GetLogLevel() string { return "OFF" }

// SetOutput ignores the writer.
func (*silentLogger) SetOutput(io.Writer) {}

// CloseFileOnLoggerReplace is not called on this logger (easy logging calls
// it on the logger it builds); nothing to close.
func (*silentLogger) CloseFileOnLoggerReplace(*os.File) error { return nil }

// Replace keeps the silent logger: easy logging calls it to install a
// logger writing at the configuration file's level.
func (*silentLogger) Replace(*gosnowflake.SFLogger) {}

// nothingFormatter formats every entry as nothing: a panic-level entry,
// the only one the level admits, carries no text to the discarded output.
type nothingFormatter struct{}

func (nothingFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }
