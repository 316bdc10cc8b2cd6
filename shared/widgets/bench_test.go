package widgets_test

import (
	"net/url"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgets/widgetstest"
)

var (
	bigOnce sync.Once
	big     *widgets.Dataset
	bigEnd  = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
)

// bigDataset is 200,000 tickets and 200,000 chats over a year.
func bigDataset(tb testing.TB) *widgets.Dataset {
	bigOnce.Do(func() {
		loc, _ := time.LoadLocation("America/Halifax")
		var err error
		big, err = widgetstest.Dataset(200_000, 200_000, bigEnd, loc, 1)
		if err != nil {
			panic(err)
		}
	})
	return big
}

// BenchmarkWidget365Days runs every widget over a 365-day range of 200k tickets + 200k chats
// and reports p50 and p99 latency per query.
//
// On a quiet machine (see README, Performance) every widget's p99 is well under 20 ms; the
// figures are wall-clock, so a machine busy with other work inflates them.
func BenchmarkWidget365Days(b *testing.B) {
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	ds := bigDataset(b)
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	b.Logf("dataset of 200k tickets + 200k chats holds %.1f MiB of heap", float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/(1<<20))
	q := url.Values{"from": {"2025-12-01"}, "to": {"2026-11-30"}}
	for _, w := range widgets.All {
		b.Run(w.ID, func(b *testing.B) {
			f, err := widgets.ParseFilters(w, q, "2026-11-30")
			if err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				ds.Compute(w, f)
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkDecodeLoad is the CPU part of a cold load: gunzip, gob-decode and derive the query
// columns of the 200k + 200k dataset (the rest is reading the chunks from Firestore).
func BenchmarkDecodeLoad(b *testing.B) {
	ds := bigDataset(b)
	blob, err := widgets.Encode(ds.Data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(blob))/(1<<20), "blob-MiB")
	for b.Loop() {
		d, err := widgets.Decode(blob)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := widgets.Load(d, "x"); err != nil {
			b.Fatal(err)
		}
	}
}
