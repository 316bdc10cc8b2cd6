package widgets

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseFilters checks defaults, what is applied, and every 400 with its reason.
func TestParseFilters(t *testing.T) {
	tests := []struct {
		id, qs  string
		applied map[string]string
		err     string // substring of the reason; "" = valid
	}{
		{"tickets-created", "", map[string]string{"from": "2026-12-04", "to": "2027-01-02"}, ""},
		{"tickets-created", "to=2026-02-28", map[string]string{"from": "2026-01-30", "to": "2026-02-28"}, ""},
		{"tickets-created", "from=2026-12-30", map[string]string{"from": "2026-12-30", "to": "2027-01-02"}, ""},
		{"tickets-created", "from=2026-01-01&to=2026-01-01&pipeline=Support&agent=Alice", map[string]string{"from": "2026-01-01", "to": "2026-01-01", "pipeline": "Support", "agent": "Alice"}, ""},
		{"tickets-created", "agent=&pipeline=", map[string]string{"from": "2026-12-04", "to": "2027-01-02"}, ""},
		{"tickets-created", "from=2025-11-29&to=2027-01-02", nil, ""},                // 400 days exactly
		{"ticket-backlog", "from=2026-01-01&to=2026-01-02", map[string]string{}, ""}, // range ignored
		{"load-heatmap", "source=chats", map[string]string{"from": "2026-12-04", "to": "2027-01-02", "source": "chats"}, ""},
		{"agent-leaderboard", "source=tickets&pipeline=Support", nil, ""},

		{"tickets-created", "from=2025-11-28&to=2027-01-02", nil, "range of 401 days is longer than 400"},
		{"tickets-created", "from=2027-01-03", nil, "from (2027-01-03) is after to (2027-01-02)"},
		{"tickets-created", "from=2026-02-01&to=2026-01-01", nil, "is after to"},
		{"tickets-created", "from=2026-2-1", nil, `from: "2026-2-1" is not a date (YYYY-MM-DD)`},
		{"tickets-created", "to=2026-02-30", nil, `to: "2026-02-30" is not a valid date`},
		{"tickets-created", "from=1999-12-31", nil, "out of range"},
		{"tickets-created", "to=yesterday", nil, "not a date"},
		{"tickets-created", "source=tickets", nil, "source: does not apply to tickets-created"},
		{"chat-volume", "pipeline=Support", nil, "pipeline: does not apply to chat-volume"},
		{"chat-csat", "source=chats", nil, "source: does not apply"},
		{"tickets-created", "limit=5", nil, `unknown parameter "limit"`},
		{"tickets-created", "from=2026-01-01&from=2026-01-02", nil, "from: given more than once"},
		{"load-heatmap", "source=both", nil, `source: "both" is not tickets or chats`},
		{"load-heatmap", "source=chats&pipeline=Support", nil, "cannot be combined with source=chats"},
		{"tickets-created", "agent=" + strings.Repeat("a", 201), nil, "agent: longer than 200 bytes"},
		{"tickets-created", "agent=a%00b", nil, "agent: contains control characters"},
		{"tickets-created", "pipeline=%ff", nil, "pipeline: not valid UTF-8"},
		{"tickets-created", "from=" + strings.Repeat("9", 5000), nil, "not a date"},
	}
	for _, tc := range tests {
		t.Run(tc.id+"?"+clip(tc.qs), func(t *testing.T) {
			w, _ := ByID(tc.id)
			q, err := url.ParseQuery(tc.qs)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseFilters(w, q, "2027-01-02", "token")
			if tc.err != "" {
				if err == nil || !IsBadRequest(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want a bad request with %q", err, tc.err)
				}
				if len(err.Error()) > 300 {
					t.Errorf("reason too long (%d bytes): caller input must be clipped", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.applied != nil {
				if d := cmp.Diff(tc.applied, f.Applied(w)); d != "" {
					t.Errorf("applied (-want +got):\n%s", d)
				}
			}
		})
	}
}

// TestTokenParameterIsIgnored checks that parameters named in ignore are skipped.
func TestTokenParameterIsIgnored(t *testing.T) {
	w, _ := ByID("chat-volume")
	if _, err := ParseFilters(w, url.Values{"token": {"x"}}, "2027-01-02", "token"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseFilters(w, url.Values{"token": {"x"}}, "2027-01-02"); err == nil {
		t.Fatal("token without ignore: no error")
	}
}
