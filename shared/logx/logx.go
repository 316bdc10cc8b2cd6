// Package logx builds the structured JSON logger every supportsync process uses: one JSON
// object per line with the keys Cloud Logging understands (severity, message, time), so logs
// from Cloud Functions are searchable by severity and by field (event, run_id, source, …).
package logx

import (
	"io"
	"log/slog"
	"strings"
)

// New returns a JSON logger writing to w at the given level ("debug", "info", "warn",
// "error"; anything else means info).
func New(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: cloudKeys}))
}

// cloudKeys renames slog's keys to Cloud Logging's: level → severity (WARNING, not WARN),
// msg → message.
func cloudKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		a.Key = "severity"
		if lv, ok := a.Value.Any().(slog.Level); ok {
			switch {
			case lv >= slog.LevelError:
				a.Value = slog.StringValue("ERROR")
			case lv >= slog.LevelWarn:
				a.Value = slog.StringValue("WARNING")
			case lv >= slog.LevelInfo:
				a.Value = slog.StringValue("INFO")
			default:
				a.Value = slog.StringValue("DEBUG")
			}
		}
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}
