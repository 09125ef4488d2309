package config

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Log is how a binary logs: LOG_FORMAT=text|json, LOG_LEVEL=debug|info|warn|error.
type Log struct {
	Format string `env:"LOG_FORMAT" envDefault:"text"`
	Level  string `env:"LOG_LEVEL" envDefault:"info"`
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// Validate names a bad LOG_FORMAT or LOG_LEVEL and what is allowed.
func (l Log) Validate() error {
	if f := strings.ToLower(l.Format); f != "text" && f != "json" {
		return fmt.Errorf("LOG_FORMAT=%q is not a log format: allowed text or json", l.Format)
	}
	if _, ok := logLevels[strings.ToLower(l.Level)]; !ok {
		return fmt.Errorf("LOG_LEVEL=%q is not a log level: allowed debug, info, warn or error", l.Level)
	}
	return nil
}

// NewLogger builds the logger l describes (text at info when invalid: call
// Validate first to report it).
func (l Log) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[strings.ToLower(l.Level)], ReplaceAttr: redactSecretKeys}
	if strings.EqualFold(l.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// secretKey matches attribute names that must never carry a value in a log
// line, whatever their type: a second line of defence behind Secret.
var secretKey = regexp.MustCompile(`(?i)(password|passwd|secret|access_?key|token|payload_?key|authorization)`)

func redactSecretKeys(_ []string, a slog.Attr) slog.Attr {
	if secretKey.MatchString(a.Key) && a.Value.Kind() != slog.KindGroup {
		return slog.String(a.Key, "[redacted]")
	}
	return a
}

// LoadLog reads LOG_FORMAT and LOG_LEVEL alone, so that a binary logs its
// configuration errors in the format asked for.
func LoadLog() (Log, error) {
	var l Log
	if err := env.Parse(&l); err != nil {
		return l, fmt.Errorf("configuration: %w", err)
	}
	return l, l.Validate()
}
