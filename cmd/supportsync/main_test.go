package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunExitCodes(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		code     int
		contains []string
	}{
		{"no command", nil, nil, 2, []string{"usage: supportsync"}},
		{"unknown command", []string{"frobnicate"}, nil, 2, []string{`unknown command "frobnicate"`}},
		{"help", []string{"help"}, nil, 0, []string{"devstack", "sync", "check", "status", "replay", "package"}},
		{"bad source", []string{"sync", "--source", "emails"}, nil, 2, []string{`unknown source "emails"`}},
		{"bad mode", []string{"sync", "--source", "tickets", "--mode", "sometimes"}, nil, 2, []string{`--mode "sometimes"`}},
		{"allow-deletions needs a full run", []string{"sync", "--source", "tickets", "--allow-deletions"}, nil, 2, []string{"--allow-deletions", "--mode full"}},
		{"devstack bad mode", []string{"devstack", "--once", "--mode", "partial"}, nil, 2, []string{`--mode "partial"`}},
		{"stray argument", []string{"status", "now"}, nil, 2, []string{`unexpected argument "now"`}},
		{"sync without project", []string{"sync", "--source", "tickets"}, nil, 1, []string{"GOOGLE_CLOUD_PROJECT"}},
		{
			"check names every problem", []string{"check"},
			map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "RETENTION_DAYS": "-4", "HUBSPOT_TOKEN": "x", "HUBSPOT_TOKEN_SECRET": "y", "BATCH_RECORDS": "many"},
			1, []string{"FAIL configuration", "RETENTION_DAYS", "BATCH_RECORDS", "HUBSPOT_TOKEN", "SPREADSHEET_ID"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, env(tt.env), &out, &errOut)
			all := out.String() + errOut.String()
			if code != tt.code {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tt.code, all)
			}
			for _, s := range tt.contains {
				if !strings.Contains(all, s) {
					t.Errorf("output lacks %q:\n%s", s, all)
				}
			}
			if strings.Contains(all, "\"y\"") || strings.Contains(all, "=x") {
				t.Errorf("a secret value is printed:\n%s", all)
			}
		})
	}
}
