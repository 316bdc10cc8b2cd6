package publish_test

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// BenchmarkPublish400k publishes 200,000 tickets and 200,000 chats from the Sheets fake to the
// Firestore emulator and reports the publish time, the Sheets read requests, the dataset size
// and the cold load of the published dataset (time and heap held). Run with -benchtime=1x.
func BenchmarkPublish400k(b *testing.B) {
	ctx := context.Background()
	t0 := time.Now()
	e := setup(b, 200_000, 200_000)
	b.Logf("sheet filled in %.1fs", time.Since(t0).Seconds())
	for b.Loop() {
		res, err := e.svc.Publish(ctx, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.Seconds, "publish-s")
		b.ReportMetric(float64(res.Requests), "sheets-reads")
		b.ReportMetric(float64(res.Pointer.Bytes)/(1<<20), "dataset-MiB")
		b.ReportMetric(float64(res.Pointer.Chunks), "chunks")
	}
	b.StopTimer()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	t1 := time.Now()
	ds, _, err := e.store.Load(ctx)
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(t1)
	runtime.GC()
	runtime.ReadMemStats(&after)
	tk, ch := ds.Rows()
	b.ReportMetric(load.Seconds(), "cold-load-s")
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "held-MiB")
	b.Logf("cold load of %d tickets + %d chats: %v, heap held %.1f MiB", tk, ch, load, float64(after.HeapInuse-before.HeapInuse)/(1<<20))
	runtime.KeepAlive(ds)
}
