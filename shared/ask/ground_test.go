package ask

import (
	"slices"
	"testing"
)

func TestGroundingRule(t *testing.T) {
	ev := NewEvidence()
	ev.Add(map[string]any{
		"count": 1234.0, "median": 5423.0, "p90": 20000.0, "csat": 0.91666, "rate": 0.025, "zero": 0.0,
		"fhr": 45.59, "buckets": []any{map[string]any{"label": "7-30d", "count": 12.0}},
	})
	ev.Add(map[string]string{"from": "2026-10-01", "to": "2026-10-31", "agent": "Bot 9"})
	for _, tc := range []struct {
		answer string
		want   []string // unsupported
	}{
		{"There were 1,234 tickets.", nil},
		{"There were 1234 tickets.", nil},
		{"Median first response was 5423 seconds, P90 20000 s.", nil},
		{"Median first response was about 90 minutes (1.5 hours).", nil},
		{"Median first response was 90.4 min.", nil},
		{"First human response 0.8 minutes.", nil}, // 0.76 min: within half a unit and 10 %
		{"P90 was 5.6 hours.", nil},
		{"Median 2 hours.", []string{"2 hours"}},           // 1.51 h rounded coarsely: 33 % off
		{"CSAT was 92% (0.92).", nil},                      // ratio as a percentage, rounded
		{"CSAT was 91.7 percent.", nil},                    // with the word
		{"CSAT was 93%.", []string{"93%"}},                 // not what 0.9167 rounds to
		{"Missed rate 2.5%; 3% rounded.", []string{"3%"}},  // 2.5 -> 3 is 20 % off
		{"From 2026-10-01 to 2026-10-31, in 2026.", nil},   // dates and the year
		{"On 2026-11-01 nothing.", []string{"2026-11-01"}}, // a date no tool returned
		{"12 tickets were 7-30 days old.", nil},            // bucket label numbers
		{"Bot 9 handled 0 chats.", nil},                    // zero, and a number in a name
		{"That is 1,246 in total.", []string{"1,246"}},     // a sum (1234+12) is not returned
		{"Up by 3 points.", []string{"3"}},                 // a computed difference
		{"P90 and v2 are names, not numbers.", nil},
		{"Median 0.5 days? no: 0.06 days.", []string{"0.5 days"}}, // 5423 s = 0.0628 d
	} {
		got := ev.Unsupported(tc.answer)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: unsupported %q, want %q", tc.answer, got, tc.want)
		}
	}
}
