package logx

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestCloudLoggingKeys(t *testing.T) {
	tests := []struct {
		level    string
		log      func(*bytes.Buffer)
		severity string
		want     bool
	}{
		{"info", nil, "INFO", true},
		{"info", nil, "WARNING", true},
		{"info", nil, "ERROR", true},
		{"warn", nil, "INFO", false},
		{"debug", nil, "DEBUG", true},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		l := New(&buf, tt.level)
		switch tt.severity {
		case "DEBUG":
			l.Debug("hello", "event", "x")
		case "INFO":
			l.Info("hello", "event", "x")
		case "WARNING":
			l.Warn("hello", "event", "x")
		case "ERROR":
			l.Error("hello", "event", "x")
		}
		if !tt.want {
			if buf.Len() != 0 {
				t.Errorf("level %s: %s logged: %s", tt.level, tt.severity, buf.String())
			}
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", buf.String())
		}
		if m["severity"] != tt.severity || m["message"] != "hello" || m["event"] != "x" {
			t.Errorf("level %s: got %v", tt.level, m)
		}
	}
}
