package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/publish"
	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/widgetapi"
	"supportsync.dev/shared/widgets"
	"supportsync.dev/shared/widgets/widgetstest"
	"supportsync.dev/shared/widgetstore"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

const sheetID = "sheet1"

var (
	halifax, _ = time.LoadLocation("America/Halifax")
	quiet      = slog.New(slog.NewTextHandler(io.Discard, nil))
	end        = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
)

type env struct {
	fs    *firestore.Client
	srv   *sheetsfake.Server
	sink  *sheets.Sink
	svc   *publish.Service
	store *widgetstore.Store
}

// setup starts a Sheets fake holding n tickets and m chats (written by the real sink) and a
// publish service over it and the Firestore emulator.
func setup(t testing.TB, n, m int) *env {
	t.Helper()
	ctx := context.Background()
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet(sheetID))
	t.Cleanup(func() { srv.Close() })
	api, err := sheets.NewService(ctx, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := sheets.New(api, sheetID, halifax, sheets.WithLogger(quiet), sheets.WithBackoff(time.Millisecond, 10*time.Millisecond, 3))
	if err := sink.Ensure(ctx, table.Tickets, table.Chats); err != nil {
		t.Fatal(err)
	}
	tickets, chats := widgetstest.Rows(n, m, end, halifax, 7)
	for i := 0; i < len(tickets); i += 20000 {
		if _, err := sink.Upsert(ctx, table.Tickets, tickets[i:min(i+20000, len(tickets))], nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < len(chats); i += 20000 {
		if _, err := sink.Upsert(ctx, table.Chats, chats[i:min(i+20000, len(chats))], nil); err != nil {
			t.Fatal(err)
		}
	}
	fs := emulatortest.FirestoreClient(t)
	store := widgetstore.New(fs)
	svc := &publish.Service{Sheets: api, SpreadsheetID: sheetID, Timezone: "America/Halifax", Store: store,
		ReadBackoff: time.Millisecond, Log: quiet}
	srv.ResetRequests()
	return &env{fs: fs, srv: srv, sink: sink, svc: svc, store: store}
}

// total returns tickets-created's total over the last 365 days.
func total(t testing.TB, ds *widgets.Dataset, extra string) int {
	t.Helper()
	w, _ := widgets.ByID("tickets-created")
	q, _ := url.ParseQuery("from=2025-11-30&to=2026-11-29" + extra)
	f, err := widgets.ParseFilters(w, q, "2026-11-29")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ds.Compute(w, f).Value)
	var v struct{ Total int }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.Total
}

// TestPublishReflectsTheSheet publishes, lets a person correct the sheet, publishes again:
// the numbers follow the sheet, the version changes, and an unchanged sheet keeps the version.
func TestPublishReflectsTheSheet(t *testing.T) {
	ctx := context.Background()
	e := setup(t, 300, 200)
	e.svc.PageRows = 70 // several pages per tab
	res, err := e.svc.Publish(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Tickets: 1 spreadsheets.get + 5 pages (300 rows + header in pages of 70) + 1 empty page
	// that ends the data; chats: 1 + 3 + 1.
	if res.Requests != 12 {
		t.Errorf("requests = %d, want 12", res.Requests)
	}
	if reads, writes := e.srv.Requests(sheetsfake.Reads), e.srv.Requests(sheetsfake.Writes); reads != 12 || writes != 0 {
		t.Errorf("fake saw %d reads and %d writes, want 12 and 0", reads, writes)
	}
	ds, p, err := e.store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tk, ch := ds.Rows(); tk != 300 || ch != 200 || p.Tickets != 300 || p.Chats != 200 {
		t.Fatalf("rows %d/%d (pointer %d/%d), want 300/200", tk, ch, p.Tickets, p.Chats)
	}
	support := total(t, ds, "&pipeline=Support")
	all := total(t, ds, "")
	if support == 0 || all <= support {
		t.Fatalf("totals: support %d, all %d", support, all)
	}

	// A person corrects the Pipeline of five tickets in the sheet.
	col := string(rune('A' + table.Tickets.Index("Pipeline")))
	for r := 2; r <= 6; r++ {
		if err := e.srv.SetCell(sheetID, "Tickets", fmt.Sprintf("%s%d", col, r), "Partners"); err != nil {
			t.Fatal(err)
		}
	}
	res2, err := e.svc.Publish(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ds2, p2, err := e.store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Version == p.Version || res2.Pointer.Version != p2.Version {
		t.Errorf("version %s -> %s after a change", p.Version, p2.Version)
	}
	if got := total(t, ds2, "&pipeline=Partners"); got != 5 {
		t.Errorf("Partners tickets = %d, want 5 (the corrected rows)", got)
	}
	if got := total(t, ds2, ""); got != all {
		t.Errorf("all tickets %d, want %d", got, all)
	}

	// A person blanks the row at the end of the first page: the rows after it still count.
	for c := 0; c < len(table.Tickets.Columns); c++ {
		if err := e.srv.SetCell(sheetID, "Tickets", fmt.Sprintf("%c70", 'A'+c), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Publish(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	dsBlank, pBlank, err := e.store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tk, _ := dsBlank.Rows(); tk != 299 || pBlank.Tickets != 299 {
		t.Fatalf("after blanking one row: %d tickets (pointer %d), want 299", tk, pBlank.Tickets)
	}
	p2 = pBlank

	// Unchanged sheet: same version, later read.
	_, err = e.svc.Publish(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	p3, err := e.store.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p3.Version != p2.Version || !p3.ReadAt.After(p2.ReadAt) {
		t.Errorf("unchanged sheet: version %s -> %s, read_at %v -> %v", p2.Version, p3.Version, p2.ReadAt, p3.ReadAt)
	}
}

// TestFailedPublishKeepsTheLastDataset makes Sheets fail mid-read and a header lose a column:
// the publish fails and the previous dataset keeps serving; Sheets down does not stop reads.
func TestFailedPublishKeepsTheLastDataset(t *testing.T) {
	ctx := context.Background()
	e := setup(t, 120, 80)
	e.svc.PageRows = 50
	if _, err := e.svc.Publish(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	before, err := e.store.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Sheets down: every try of the first read fails with 503.
	e.srv.Inject(fakeapi.Fault{Code: 503, Times: 5})
	if _, err := e.svc.Publish(ctx, time.Time{}); err == nil {
		t.Fatal("publish with Sheets down: no error")
	}
	after, err := e.store.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("pointer changed by a failed publish: %+v -> %+v", before, after)
	}
	if ds, _, err := e.store.Load(ctx); err != nil || total(t, ds, "") == 0 {
		t.Fatalf("dataset not readable while Sheets is down: %v", err)
	}
	// widgetapi answers from the last dataset while Sheets is down.
	e.srv.Inject(fakeapi.Fault{Code: 503, Times: 50})
	api := widgetapi.New(widgetapi.Options{Datasets: e.store, AdminKey: secrets.Secret(strings.Repeat("k", 32)), Log: quiet})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/widgets/chat-volume?from=2025-12-01&to=2026-11-29", nil)
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("k", 32))
	api.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), before.Version) {
		t.Fatalf("widgetapi while Sheets is down: %d %s", rec.Code, rec.Body.String())
	}
	for range 51 { // Sheets comes back: drain the injected faults
		if _, err := e.svc.Sheets.Spreadsheets.Get(sheetID).Do(); err == nil {
			break
		}
	}
	// Two refusals (429) are retried and the publish goes through.
	e.srv.Inject(fakeapi.Fault{Code: 429, Times: 2})
	if _, err := e.svc.Publish(ctx, time.Time{}); err != nil {
		t.Fatalf("publish after two 429s: %v", err)
	}
	before, _ = e.store.Current(ctx)

	// A renamed contract column: the publish names it and changes nothing.
	col := string(rune('A' + table.Tickets.Index("Status")))
	if err := e.srv.SetCell(sheetID, "Tickets", col+"1", "State"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Publish(ctx, time.Time{})
	if err == nil || !contains(err.Error(), "Status") {
		t.Fatalf("publish with a renamed column: %v, want an error naming Status", err)
	}
	if p, _ := e.store.Current(ctx); p != before {
		t.Fatalf("pointer changed by a failed publish")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestBurstsCollapse sends a burst of completions: the first publishes, the ones the
// dataset already reflects are skipped without reading Sheets, and a publish that finds the
// lease taken asks to be retried.
func TestBurstsCollapse(t *testing.T) {
	ctx := context.Background()
	e := setup(t, 50, 50)
	finished := time.Now().Add(-time.Second).UTC()
	msg := fmt.Appendf(nil, `{"run_id":"r1","source":"tickets","state":"completed","finished":%q}`, finished.Format(time.RFC3339Nano))
	res, err := e.svc.Handle(ctx, msg)
	if err != nil || res.Skipped {
		t.Fatalf("first: %+v %v", res, err)
	}
	if !res.Pointer.AsOf.Equal(finished.Truncate(time.Microsecond)) && !res.Pointer.AsOf.Equal(finished) {
		t.Errorf("as_of %v, want the run's finish %v", res.Pointer.AsOf, finished)
	}
	e.srv.ResetRequests()
	for range 5 {
		res, err := e.svc.Handle(ctx, msg)
		if err != nil || !res.Skipped {
			t.Fatalf("repeat: %+v %v", res, err)
		}
	}
	if reads := e.srv.Requests(sheetsfake.Reads); reads != 0 {
		t.Errorf("skipped publishes read Sheets %d times", reads)
	}
	// Another publish holds the lease: retry.
	if err := e.store.Acquire(ctx, "someone-else", time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Publish(ctx, time.Time{})
	if !errors.Is(err, publish.ErrBusy) {
		t.Fatalf("publish under another's lease: %v, want ErrBusy", err)
	}
	if err := e.store.Release(ctx, "someone-else"); err != nil {
		t.Fatal(err)
	}
	// Concurrent completions: every call either publishes, skips or is told to retry; at
	// the end the dataset reflects the sheet.
	var published, skipped, busy atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.svc.Publish(ctx, time.Now().UTC())
			switch {
			case errors.Is(err, publish.ErrBusy):
				busy.Add(1)
			case err != nil:
				t.Error(err)
			case res.Skipped:
				skipped.Add(1)
			default:
				published.Add(1)
			}
		}()
	}
	wg.Wait()
	if published.Load() < 1 || published.Load()+skipped.Load()+busy.Load() != 4 {
		t.Errorf("published %d, skipped %d, busy %d", published.Load(), skipped.Load(), busy.Load())
	}
}

// TestReaderSeesOldOrNew reads the dataset in a loop while publishes of different contents
// flip the pointer and clean up old versions: every read is a whole version (its checksum
// matches, its row counts are the pointer's), never a mix.
func TestReaderSeesOldOrNew(t *testing.T) {
	ctx := context.Background()
	e := setup(t, 200, 100)
	e.store.KeepFor = time.Nanosecond // clean up aggressively, to race the reader
	if _, err := e.svc.Publish(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var reads atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ds, p, err := e.store.Load(ctx)
			if errors.Is(err, widgetstore.ErrChanged) {
				continue // three versions went by during one read: read again
			}
			if err != nil {
				t.Error(err)
				return
			}
			if tk, ch := ds.Rows(); tk != p.Tickets || ch != p.Chats {
				t.Errorf("dataset %s has %d/%d rows, pointer says %d/%d", p.Version, tk, ch, p.Tickets, p.Chats)
			}
			reads.Add(1)
		}
	}()
	tickets, _ := widgetstest.Rows(40, 0, end, halifax, 99)
	for i := range 4 {
		for j := range tickets {
			tickets[j][0] = table.TextCell(fmt.Sprintf("X%d-%d", i, j))
		}
		if _, err := e.sink.Upsert(ctx, table.Tickets, tickets[:10*(i+1)], nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Publish(ctx, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("the reader never read")
	}
	p, _ := e.store.Current(ctx)
	if p.Tickets != 200+10+20+30+40 {
		t.Errorf("tickets %d, want 300", p.Tickets)
	}
	// Only the current and the previous version remain.
	refs, err := e.fs.Collection(widgetstore.Collection).DocumentRefs(ctx).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	versions := 0
	for _, r := range refs {
		if r.ID[0] == 'v' {
			versions++
		}
	}
	if versions > 2 {
		t.Errorf("%d versions left, want at most 2", versions)
	}
}
