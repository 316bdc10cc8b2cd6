package widgetapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgets/widgetstest"
	"supportsync.dev/shared/widgetstore"
)

// staticSource serves one loaded dataset (the benchmark measures the HTTP path, not Firestore).
type staticSource struct {
	ds *widgets.Dataset
	p  widgetstore.Pointer
}

func (s staticSource) Current(context.Context) (widgetstore.Pointer, error) { return s.p, nil }
func (s staticSource) Load(context.Context) (*widgets.Dataset, widgetstore.Pointer, error) {
	return s.ds, s.p, nil
}

// BenchmarkHTTP365Days serves every widget for a 365-day range of 200k tickets + 200k chats
// through the real handler and HTTP, from parallel clients: "distinct" requests change the
// range each time (no response cache hit), "repeated" ones hit the cache. It reports
// requests/s and p50/p99 latency.
func BenchmarkHTTP365Days(b *testing.B) {
	end := time.Now()
	ds, err := widgetstest.Dataset(200_000, 200_000, end, halifax, 1)
	if err != nil {
		b.Fatal(err)
	}
	api := newServerFor(b, staticSource{ds: ds, p: widgetstore.Pointer{Version: "bench", AsOf: end}})
	srv := httptest.NewServer(api)
	defer srv.Close()
	for _, mode := range []string{"distinct", "repeated"} {
		b.Run(mode, func(b *testing.B) {
			var n atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(1) // one client per core
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
				var mine []time.Duration
				for pb.Next() {
					i := n.Add(1)
					w := widgets.All[i%int64(len(widgets.All))]
					from, to := end.AddDate(0, 0, -364), end
					if mode == "distinct" { // a new range for every request: computed, not cached
						to = end.AddDate(0, 0, -int((i/12)%30))
						from = to.AddDate(0, 0, -364+int((i/360)%30))
					}
					req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/widgets/%s?from=%s&to=%s", srv.URL, w.ID,
						from.In(halifax).Format(time.DateOnly), to.In(halifax).Format(time.DateOnly)), nil)
					req.Header.Set("Authorization", "Bearer "+string(adminKey))
					t0 := time.Now()
					resp, err := c.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					mine = append(mine, time.Since(t0))
					if resp.StatusCode != 200 {
						b.Errorf("%s: %d", w.ID, resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			el := time.Since(start)
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/el.Seconds(), "req/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
