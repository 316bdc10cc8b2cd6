package widgetapi

import (
	"testing"
	"time"
)

func TestHuman(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{45 * time.Second, "45s"},
		{5 * time.Minute, "5m"},
		{10 * time.Minute, "10m"},
		{time.Hour + 10*time.Minute, "1h10m"},
		{3 * time.Hour, "3h"},
		{2*time.Hour + 5*time.Minute + 20*time.Second, "2h5m"},
		{50 * time.Hour, "2d2h"},
		{72 * time.Hour, "3d"},
	} {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
