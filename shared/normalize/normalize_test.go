package normalize

import (
	"strings"
	"testing"
	"time"

	"supportsync.dev/shared/team"
)

func TestWarnValueSamplesAndCounts(t *testing.T) {
	var r Result
	calls := 0
	long := strings.Repeat("x", 100)
	for i := range MaxWarningSamples + 5 {
		raw := "bad"
		if i == 0 {
			raw = long
		}
		r.WarnValue(raw, func(q string) string { calls++; return "ticket 1: createdate " + q })
	}
	if r.Warnings != MaxWarningSamples+5 || len(r.WarningSamples) != MaxWarningSamples || calls != MaxWarningSamples {
		t.Errorf("%d warnings, %d samples, %d messages built", r.Warnings, len(r.WarningSamples), calls)
	}
	if want := `ticket 1: createdate "` + strings.Repeat("x", 64) + `…"`; r.WarningSamples[0] != want {
		t.Errorf("sample %q, want the value cut to 64 bytes", r.WarningSamples[0])
	}
}

func TestWorkdays(t *testing.T) {
	tc := team.Default()
	w := NewWorkdays(tc)
	for _, day := range []time.Time{
		time.Date(2026, 11, 27, 9, 0, 0, 0, tc.Location),  // Friday
		time.Date(2026, 11, 28, 23, 0, 0, 0, tc.Location), // Saturday
		time.Date(2026, 11, 30, 0, 0, 0, 0, tc.Location),  // Monday
	} {
		for range 2 { // the second answer comes from the cache
			if got, want := w.Is(day), tc.IsWorkday(day); got != want {
				t.Errorf("%s: Is = %v, want %v", day.Format(time.DateOnly), got, want)
			}
		}
	}
	if len(w.days) != 3 {
		t.Errorf("%d days cached, want 3", len(w.days))
	}
}

func TestLastIndex(t *testing.T) {
	keys := []string{"a", "b", "", "a", "c", "b"}
	got := LastIndex(len(keys), func(i int) string { return keys[i] })
	want := map[string]int{"a": 3, "b": 5, "c": 4}
	if len(got) != len(want) {
		t.Fatalf("LastIndex = %v, want %v", got, want)
	}
	for k, i := range want {
		if got[k] != i {
			t.Errorf("LastIndex[%q] = %d, want %d", k, got[k], i)
		}
	}
}

func TestYearOK(t *testing.T) {
	for y, want := range map[int]bool{1999: false, 2000: true, 2026: true, 2100: true, 2101: false} {
		if YearOK(y) != want {
			t.Errorf("YearOK(%d) = %v", y, !want)
		}
	}
}
