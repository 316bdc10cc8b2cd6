package widgetapi_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"supportsync.dev/shared/widgetpage"
	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgets/widgetstest"
	"supportsync.dev/shared/widgetstore"
)

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	w.Write(b)
	w.Close()
	return buf.Len()
}

// BenchmarkWidgetPages365Days renders every widget page (HTML with its SVG; there is no
// JavaScript) for a 365-day range over 200,000 tickets + 200,000 chats through the real
// handler, one at a time: "computed" asks a different range each time (the numbers are
// computed, as in BenchmarkHTTP365Days), "rendered" the same range again (the JSON answer is
// cached: the page's own time). It reports the server time p50/p99 and the page weight gzipped (the stylesheet,
// cached a year by its hash URL, is reported once as style-gz-KB), then the same for the
// dashboard (every widget on one page, 30 days).
func BenchmarkWidgetPages365Days(b *testing.B) {
	end := time.Now()
	ds, err := widgetstest.Dataset(200_000, 200_000, end, halifax, 1)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC() // the generator's garbage is not the pages'
	api := newServerFor(b, staticSource{ds: ds, p: widgetstore.Pointer{Version: "bench", AsOf: end}})
	style, _, _ := widgetpage.Asset(widgetpage.StylePath()[len(widgetpage.AssetPrefix):])
	admin := "Bearer " + string(adminKey)
	serve := func(b *testing.B, path string) ([]byte, time.Duration) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", admin)
		rec := httptest.NewRecorder()
		start := time.Now()
		api.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.Bytes(), d
	}
	report := func(b *testing.B, lat []time.Duration, body []byte) {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(gzipSize(body))/1024, "page-gz-KB")
		b.ReportMetric(float64(len(body))/1024, "page-KB")
		b.ReportMetric(float64(gzipSize(style))/1024, "style-gz-KB")
	}
	base := end.In(halifax)
	for _, wd := range widgets.All {
		// computed: a different range each time, so the numbers are computed, not cached.
		b.Run(wd.ID+"/computed", func(b *testing.B) {
			serve(b, "/widgets/"+wd.ID) // warm: the first render of a template
			var lat []time.Duration
			var body []byte
			i := 0
			for b.Loop() {
				to := base.AddDate(0, 0, -(i % 300))
				from := to.AddDate(0, 0, -364)
				var d time.Duration
				body, d = serve(b, "/widgets/"+wd.ID+"?from="+from.Format(time.DateOnly)+"&to="+to.Format(time.DateOnly))
				lat = append(lat, d)
				i++
			}
			report(b, lat, body)
		})
		// rendered: the same range (its JSON answer cached) under a new theme parameter each
		// time, so the time is the page's own: decode, chart, table, template.
		b.Run(wd.ID+"/rendered", func(b *testing.B) {
			path := "/widgets/" + wd.ID + "?from=" + base.AddDate(0, 0, -364).Format(time.DateOnly) + "&to=" + base.Format(time.DateOnly)
			serve(b, path)
			var lat []time.Duration
			var body []byte
			i := 0
			for b.Loop() {
				var d time.Duration
				body, d = serve(b, path+"&theme=x"+strconv.Itoa(i))
				lat = append(lat, d)
				i++
			}
			report(b, lat, body)
		})
		// repeated: the same link again (the rendered page cached).
		b.Run(wd.ID+"/repeated", func(b *testing.B) {
			path := "/widgets/" + wd.ID + "?from=" + base.AddDate(0, 0, -364).Format(time.DateOnly) + "&to=" + base.Format(time.DateOnly)
			serve(b, path)
			var lat []time.Duration
			var body []byte
			for b.Loop() {
				var d time.Duration
				body, d = serve(b, path)
				lat = append(lat, d)
			}
			report(b, lat, body)
		})
	}
	b.Run("dashboard", func(b *testing.B) {
		var lat []time.Duration
		var body []byte
		i := 0
		for b.Loop() {
			to := base.AddDate(0, 0, -(i % 300))
			var d time.Duration
			body, d = serve(b, "/widgets?to="+to.Format(time.DateOnly))
			lat = append(lat, d)
			i++
		}
		report(b, lat, body)
	})
}
