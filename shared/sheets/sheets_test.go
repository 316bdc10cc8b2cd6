package sheets_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/googleapi"
	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/table"
)

const sheetID = "sheet-1"

var halifax = mustLoc("America/Halifax")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// small is a compact schema with every kind, for readable expectations.
var small = table.Schema{Tab: "T", Columns: []table.Column{
	{Name: "ID", Kind: table.Text}, {Name: "Name", Kind: table.Text}, {Name: "When", Kind: table.DateTime},
	{Name: "N", Kind: table.Number}, {Name: "Ok", Kind: table.Bool},
}, DateColumn: 2}

func setup(t testing.TB, opts ...sheets.Option) (*sheets.Sink, *sheetsfake.Server) {
	t.Helper()
	srv := sheetsfake.NewServer(sheetsfake.WithSpreadsheet(sheetID))
	t.Cleanup(func() { srv.Close() })
	return newSink(t, srv, opts...), srv
}

func newSink(t testing.TB, srv *sheetsfake.Server, opts ...sheets.Option) *sheets.Sink {
	t.Helper()
	svc, err := sheets.NewService(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]sheets.Option{sheets.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		sheets.WithBackoff(time.Millisecond, 20*time.Millisecond, 5)}, opts...)
	return sheets.New(svc, sheetID, halifax, opts...)
}

func at(s string) time.Time {
	t, err := time.ParseInLocation(table.DateTimeLayout, s, halifax)
	if err != nil {
		panic(err)
	}
	return t
}

func row(id, name, when string, n float64, ok bool) table.Row {
	return table.Row{table.TextCell(id), table.TextCell(name), table.TimeCell(at(when)), table.NumberCell(n), table.BoolCell(ok)}
}

// widen gives a tab n more columns, as a person adding a column for notes.
func widen(t testing.TB, srv *sheetsfake.Server, tab string, n int64) {
	t.Helper()
	info, ok := srv.Sheet(sheetID, tab)
	if !ok {
		t.Fatalf("no tab %q", tab)
	}
	if err := srv.SetGrid(sheetID, tab, info.RowCount, info.ColumnCount+n); err != nil {
		t.Fatal(err)
	}
}

func display(t *testing.T, srv *sheetsfake.Server, tab string) [][]string {
	t.Helper()
	d, err := srv.Display(sheetID, tab)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEnsureCreatesTabsAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	if err := sink.Ensure(ctx, table.Tickets, table.Chats, table.SyncLog); err != nil {
		t.Fatal(err)
	}
	if r, w := sink.Requests(); r != 1 || w != 1 {
		t.Errorf("first Ensure: %d reads, %d writes; want 1, 1", r, w)
	}
	for _, s := range []table.Schema{table.Tickets, table.Chats, table.SyncLog} {
		info, ok := srv.Sheet(sheetID, s.Tab)
		if !ok || info.FrozenRowCount != 1 {
			t.Errorf("%s: %+v %v, want a tab with one frozen row", s.Tab, info, ok)
		}
		cells, _ := srv.Cells(sheetID, s.Tab)
		if len(cells) != 1 || len(cells[0]) != len(s.Columns) {
			t.Fatalf("%s: cells %v, want the header only", s.Tab, cells)
		}
		for i, c := range cells[0] {
			if c.Value != s.Columns[i].Name || !c.Bold {
				t.Errorf("%s header %d = %+v, want bold %q", s.Tab, i, c, s.Columns[i].Name)
			}
		}
	}
	// Again from a fresh Sink (a new instance): reads only, nothing written.
	fresh := newSink(t, srv)
	if err := fresh.Ensure(ctx, table.Tickets, table.Chats, table.SyncLog); err != nil {
		t.Fatal(err)
	}
	if r, w := fresh.Requests(); r != 2 || w != 0 {
		t.Errorf("second Ensure: %d reads, %d writes; want 2, 0", r, w)
	}
	// And from the same Sink: cached, free.
	if err := fresh.Ensure(ctx, table.Tickets); err != nil {
		t.Fatal(err)
	}
	if r, w := fresh.Requests(); r != 2 || w != 0 {
		t.Errorf("cached Ensure: %d reads, %d writes; want 2, 0", r, w)
	}
}

func TestEnsureHeaders(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		typed   map[string]any // cells a user typed before Ensure
		wantErr []string
		want    []string
	}{
		{name: "blank header gets it", typed: map[string]any{"A1": nil}, want: small.Headers()},
		{name: "extra user header is fine", typed: map[string]any{"F1": "Note"}, want: append(small.Headers(), "Note")},
		{name: "missing trailing cells are filled", typed: map[string]any{"D1": nil, "E1": nil}, want: small.Headers()},
		{name: "renamed column is an error", typed: map[string]any{"B1": "Title", "C1": "Date"},
			wantErr: []string{`"T"`, `column B is "Title", want "Name"`, `column C is "Date", want "When"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, srv := setup(t)
			if err := sink.Ensure(ctx, small); err != nil {
				t.Fatal(err)
			}
			if tt.name == "blank header gets it" {
				for i := range small.Columns {
					srv.SetCell(sheetID, "T", string(rune('A'+i))+"1", nil)
				}
			}
			widen(t, srv, "T", 1)
			for a1, v := range tt.typed {
				if err := srv.SetCell(sheetID, "T", a1, v); err != nil {
					t.Fatal(err)
				}
			}
			err := newSink(t, srv).Ensure(ctx, small)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("Ensure succeeded, want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([][]string{tt.want}, display(t, srv, "T")); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpsertKeepsUserColumnBesideItsRecord(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	steps := []struct {
		name   string
		before func()
		rows   []table.Row
		remove []string
		want   sheets.Result
		sheet  [][]string
	}{
		{name: "insert", rows: []table.Row{
			row("a", "Ann", "2026-03-01 09:00:00", 1, true),
			row("b", "Bob", "2026-03-02 10:30:00", 2.5, false),
			row("c", "Cid", "2026-03-03 23:59:59", 3, true),
		}, want: sheets.Result{Inserted: 3}, sheet: [][]string{
			{"ID", "Name", "When", "N", "Ok"},
			{"a", "Ann", "2026-03-01 09:00:00", "1", "TRUE"},
			{"b", "Bob", "2026-03-02 10:30:00", "2.5", "FALSE"},
			{"c", "Cid", "2026-03-03 23:59:59", "3", "TRUE"},
		}},
		{name: "update, insert, remove", before: func() {
			widen(t, srv, "T", 1)
			srv.SetCell(sheetID, "T", "F1", "Note")
			srv.SetCell(sheetID, "T", "F3", "call Bob back")
			srv.SetCell(sheetID, "T", "F4", "Cid's note")
		}, rows: []table.Row{
			row("d", "Dee", "2026-03-04 08:00:00", 4, false),
			row("b", "Bobby", "2026-03-02 10:30:00", 2.5, true),
			row("b", "Robert", "2026-03-02 11:00:00", 7, true), // the last wins
		}, remove: []string{"a", "zzz"}, want: sheets.Result{Inserted: 1, Updated: 1, Deleted: 1}, sheet: [][]string{
			{"ID", "Name", "When", "N", "Ok", "Note"},
			{"b", "Robert", "2026-03-02 11:00:00", "7", "TRUE", "call Bob back"},
			{"c", "Cid", "2026-03-03 23:59:59", "3", "TRUE", "Cid's note"},
			{"d", "Dee", "2026-03-04 08:00:00", "4", "FALSE", ""},
		}},
		{name: "same again changes nothing", rows: []table.Row{
			row("d", "Dee", "2026-03-04 08:00:00", 4, false),
			row("b", "Robert", "2026-03-02 11:00:00", 7, true),
		}, remove: []string{"a"}, want: sheets.Result{Updated: 2}, sheet: [][]string{
			{"ID", "Name", "When", "N", "Ok", "Note"},
			{"b", "Robert", "2026-03-02 11:00:00", "7", "TRUE", "call Bob back"},
			{"c", "Cid", "2026-03-03 23:59:59", "3", "TRUE", "Cid's note"},
			{"d", "Dee", "2026-03-04 08:00:00", "4", "FALSE", ""},
		}},
		{name: "empty cells clear, remove in the middle", rows: []table.Row{
			{table.TextCell("d"), table.Cell{}, table.Cell{}, table.Cell{}, table.Cell{}},
			row("e", "Eve", "2026-03-05 12:00:00", 5, true),
		}, remove: []string{"c"}, want: sheets.Result{Inserted: 1, Updated: 1, Deleted: 1}, sheet: [][]string{
			{"ID", "Name", "When", "N", "Ok", "Note"},
			{"b", "Robert", "2026-03-02 11:00:00", "7", "TRUE", "call Bob back"},
			{"d", "", "", "", "", ""},
			{"e", "Eve", "2026-03-05 12:00:00", "5", "TRUE", ""},
		}},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		got, err := sink.Upsert(ctx, small, st.rows, st.remove)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: result %+v, want %+v", st.name, got, st.want)
		}
		if diff := cmp.Diff(st.sheet, display(t, srv, "T")); diff != "" {
			t.Errorf("%s: sheet (-want +got):\n%s", st.name, diff)
		}
	}
}

func TestCellsAreTyped(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	formulas := []string{"=SUM(A1)", "+1", "-2", "@x", "'x", "=HYPERLINK(\"http://evil\")", "TRUE", "0012"}
	var rows []table.Row
	for i, f := range formulas {
		rows = append(rows, table.Row{table.TextCell("k" + strconv.Itoa(i)), table.TextCell(f),
			table.TimeCell(at("2026-11-01 01:30:00")), table.NumberCell(-0.25), table.BoolCell(i%2 == 0)})
	}
	if _, err := sink.Upsert(ctx, small, rows, nil); err != nil {
		t.Fatal(err)
	}
	cells, err := srv.Cells(sheetID, "T")
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range formulas {
		c := cells[i+1]
		if v, ok := c[1].Value.(string); !ok || v != f || c[1].Formula {
			t.Errorf("text %q stored as %#v", f, c[1])
		}
		wantSerial := 46327 + 1.5/24 // 2026-11-01 01:30 wall clock
		if v, ok := c[2].Value.(float64); !ok || v < wantSerial-1e-9 || v > wantSerial+1e-9 ||
			c[2].Format != (sheetsfake.NumberFormat{Type: "DATE_TIME", Pattern: "yyyy-mm-dd hh:mm:ss"}) {
			t.Errorf("date stored as %#v, want serial %v with the date-time format", c[2], wantSerial)
		}
		if v, ok := c[3].Value.(float64); !ok || v != -0.25 {
			t.Errorf("number stored as %#v", c[3])
		}
		if v, ok := c[4].Value.(bool); !ok || v != (i%2 == 0) {
			t.Errorf("bool stored as %#v", c[4])
		}
	}
	if got := display(t, srv, "T")[1][2]; got != "2026-11-01 01:30:00" {
		t.Errorf("date displayed %q", got)
	}
	back, err := sink.Rows(ctx, small)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows, back); diff != "" {
		t.Errorf("Rows (-wrote +read):\n%s", diff)
	}
}

func TestUpsertCleansBlankAndDuplicateRows(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	if _, err := sink.Upsert(ctx, small, []table.Row{
		row("a", "A", "2026-01-01 00:00:00", 1, true), row("b", "B", "2026-01-01 00:00:00", 2, true),
		row("c", "C", "2026-01-01 00:00:00", 3, true),
	}, nil); err != nil {
		t.Fatal(err)
	}
	// A user blanks row 3 (b) and pastes a second copy of a below the data.
	for _, a1 := range []string{"A3", "B3", "C3", "D3", "E3"} {
		srv.SetCell(sheetID, "T", a1, nil)
	}
	srv.SetCell(sheetID, "T", "A5", "a")
	srv.SetCell(sheetID, "T", "B5", "stale copy")
	got, err := sink.Upsert(ctx, small, []table.Row{row("a", "A2", "2026-01-02 00:00:00", 1, false)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (sheets.Result{Updated: 1}); got != want {
		t.Errorf("result %+v, want %+v", got, want)
	}
	want := [][]string{
		{"ID", "Name", "When", "N", "Ok"},
		{"a", "A2", "2026-01-02 00:00:00", "1", "FALSE"},
		{"c", "C", "2026-01-01 00:00:00", "3", "TRUE"},
	}
	if diff := cmp.Diff(want, display(t, srv, "T")); diff != "" {
		t.Errorf("sheet (-want +got):\n%s", diff)
	}
}

func TestRemoveEverything(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	if _, err := sink.Upsert(ctx, small, []table.Row{row("a", "A", "2026-01-01 00:00:00", 1, true)}, nil); err != nil {
		t.Fatal(err)
	}
	// Make the grid exactly as tall as the data, so deleting the row would delete every
	// non-frozen row (which the API refuses).
	info, _ := srv.Sheet(sheetID, "T")
	if _, err := sink.Upsert(ctx, small, nil, []string{"a"}); err != nil {
		t.Fatalf("remove with a %d-row grid: %v", info.RowCount, err)
	}
	if d := display(t, srv, "T"); len(d) != 1 {
		t.Errorf("sheet %v, want the header only", d)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	var rows []table.Row
	for i := range 10 {
		rows = append(rows, row("k"+strconv.Itoa(i), "n", "2026-01-0"+strconv.Itoa(i%9+1)+" 12:00:00", float64(i), true))
	}
	if _, err := sink.Upsert(ctx, small, rows, nil); err != nil {
		t.Fatal(err)
	}
	srv.SetCell(sheetID, "T", "F3", "note on k1")
	cutoff := at("2026-01-05 00:00:00")
	r0, w0 := sink.Requests()
	res, err := sink.Prune(ctx, small, sheets.PrunePolicy{Expired: func(r sheets.PruneRow) bool { return r.Date.Before(cutoff) }})
	if err != nil {
		t.Fatal(err)
	}
	n := res.Deleted()
	if r, w := sink.Requests(); r-r0 != 1 || w-w0 != 2 {
		t.Errorf("Prune cost %d reads, %d writes; want 1, 2 (protect, write)", r-r0, w-w0)
	}
	if n != 5 { // k0..k3 and k9 (2026-01-01)
		t.Errorf("pruned %d rows, want 5", n)
	}
	var keys []string
	back, _ := sink.Rows(ctx, small)
	for _, r := range back {
		keys = append(keys, r.Key())
	}
	if diff := cmp.Diff([]string{"k4", "k5", "k6", "k7", "k8"}, keys); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	for _, r := range display(t, srv, "T") {
		if len(r) > 5 && r[5] != "" {
			t.Errorf("the note of a pruned row is still there: %v", r)
		}
	}
}

func TestRetriesQuotaAndServerErrors(t *testing.T) {
	ctx := context.Background()
	for _, code := range []int{429, 500, 503} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			sink, srv := setup(t)
			if err := sink.Ensure(ctx, small); err != nil {
				t.Fatal(err)
			}
			r0, w0 := sink.Requests()
			srv.Inject(fakeapi.Fault{Code: code, Times: 2}) // the protect request fails twice (it was not applied: it is resent)
			if _, err := sink.Upsert(ctx, small, []table.Row{row("a", "A", "2026-01-01 00:00:00", 1, true)}, nil); err != nil {
				t.Fatal(err)
			}
			if r, w := sink.Requests(); r-r0 != 1 || w-w0 != 5 {
				t.Errorf("counted %d reads, %d writes; want 1, 5 (protect twice retried, append, formats)", r-r0, w-w0)
			}
		})
	}
	t.Run("gives up", func(t *testing.T) {
		sink, srv := setup(t)
		srv.Inject(fakeapi.Fault{Code: 429, Times: 100})
		_, err := sink.Upsert(ctx, small, nil, nil)
		var ge *googleapi.Error
		if !errors.As(err, &ge) || ge.Code != 429 {
			t.Fatalf("error %v, want a 429 googleapi.Error", err)
		}
		if r, _ := sink.Requests(); r != 5 {
			t.Errorf("%d attempts, want 5", r)
		}
	})
}

func TestRetryRespectsDeadline(t *testing.T) {
	sink, srv := setup(t, sheets.WithBackoff(2*time.Second, 32*time.Second, 10))
	srv.Inject(fakeapi.Fault{Code: 503, Times: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := sink.Upsert(ctx, small, []table.Row{row("a", "A", "2026-01-01 00:00:00", 1, true)}, nil)
	if err == nil {
		t.Fatal("Upsert succeeded against a failing server")
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("gave up after %v; the deadline was 500ms and a 2s backoff cannot fit", d)
	}
	if !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error %q does not say why it stopped", err)
	}
}

func bigRows(n int) []table.Row {
	base := at("2026-01-01 08:00:00")
	rows := make([]table.Row, n)
	for i := range rows {
		rows[i] = table.Row{
			table.TextCell(strconv.Itoa(1_000_000 + i)), table.TextCell("Printer on fire, again #" + strconv.Itoa(i)),
			table.TextCell("Support"), table.TextCell("Waiting on us"), table.TextCell("Open"), table.TextCell("HIGH"),
			table.TextCell("Hardware"), table.TextCell("EMAIL"), table.TextCell("1001"), table.TextCell("Richie"),
			table.TimeCell(base.Add(time.Duration(i) * time.Minute)), table.TimeCell(base.Add(time.Duration(i)*time.Minute + time.Hour)),
			{}, table.TimeCell(base.Add(time.Duration(i)*time.Minute + 5*time.Minute)), table.NumberCell(5), {},
			table.BoolCell(false), table.TimeCell(base),
		}
	}
	return rows
}

func TestTenThousandRowsRequests(t *testing.T) {
	ctx := context.Background()
	rows := bigRows(10_000)
	tests := []struct {
		name                  string
		opts                  []sheets.Option
		wantReads, wantWrites int64
	}{
		// New rows go out as values (insert.go), about 300 bytes of JSON per Tickets row:
		// 10,000 rows fit one append under the default 8 MiB budget, in one window (protect,
		// read, append, the formats that end the window).
		{name: "default budget", wantReads: 1, wantWrites: 3},
		// A byte budget of 1 MiB (about 400 bytes per row as estimated) takes six appends in
		// the same window.
		{name: "small byte budget", opts: []sheets.Option{sheets.WithMaxBytes(1 << 20)}, wantReads: 1, wantWrites: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, srv := setup(t, tt.opts...)
			if err := sink.Ensure(ctx, table.Tickets); err != nil {
				t.Fatal(err)
			}
			for _, pass := range []string{"insert"} {
				r0, w0 := sink.Requests()
				fr0, fw0 := srv.Requests(sheetsfake.Reads), srv.Requests(sheetsfake.Writes)
				res, err := sink.Upsert(ctx, table.Tickets, rows, nil)
				if err != nil {
					t.Fatal(err)
				}
				r, w := sink.Requests()
				fr, fw := srv.Requests(sheetsfake.Reads), srv.Requests(sheetsfake.Writes)
				t.Logf("%s of 10,000 rows: %+v, %d read + %d writes", pass, res, r-r0, w-w0)
				if r-r0 != tt.wantReads || w-w0 != tt.wantWrites || fr-fr0 != tt.wantReads || fw-fw0 != tt.wantWrites {
					t.Errorf("%s: sink counted %d+%d, server %d+%d; want %d reads + %d writes", pass, r-r0, w-w0, fr-fr0, fw-fw0, tt.wantReads, tt.wantWrites)
				}
			}
			if d := display(t, srv, "Tickets"); len(d) != 10_001 {
				t.Errorf("%d rows in the sheet, want 10,001", len(d))
			}
		})
	}
}

func TestSplitsWritesOverTheBudget(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t, sheets.WithMaxCells(5*300))
	var rows []table.Row
	for i := range 1000 {
		rows = append(rows, row(strconv.Itoa(i), "n", "2026-01-01 00:00:00", float64(i), true))
	}
	if _, err := sink.Upsert(ctx, small, rows[:500], nil); err != nil {
		t.Fatal(err)
	}
	_, w0 := sink.Requests()
	res, err := sink.Upsert(ctx, small, rows, []string{"3", "4", "400"})
	if err != nil {
		t.Fatal(err)
	}
	if _, w := sink.Requests(); w-w0 < 4 {
		t.Errorf("%d writes for 1000 rows with a 300-row budget, want at least 4", w-w0)
	}
	if want := (sheets.Result{Inserted: 500, Updated: 497, Deleted: 3}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	back, _ := sink.Rows(ctx, small)
	var want []string
	for i := range 1000 {
		if i != 3 && i != 4 && i != 400 {
			want = append(want, strconv.Itoa(i))
		}
	}
	var got []string
	for _, r := range back {
		got = append(got, r.Key())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	_ = srv
}

func TestTabDeletedIsRecreated(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	if _, err := sink.Upsert(ctx, small, []table.Row{row("a", "A", "2026-01-01 00:00:00", 1, true)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteTab(sheetID, "T"); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Upsert(ctx, small, []table.Row{row("b", "B", "2026-01-01 00:00:00", 1, true)}, nil); err != nil {
		t.Fatal(err)
	}
	if d := display(t, srv, "T"); len(d) != 2 || d[1][0] != "b" {
		t.Errorf("sheet %v, want the header and b", d)
	}
}

func TestLongTextIsTruncated(t *testing.T) {
	sink, srv := setup(t)
	long := strings.Repeat("é", 60_000)
	res, err := sink.Upsert(context.Background(), small, []table.Row{{table.TextCell("a"), table.TextCell(long)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Truncated != 1 {
		t.Errorf("Truncated = %d, want 1", res.Truncated)
	}
	if got := len([]rune(display(t, srv, "T")[1][1])); got != sheets.MaxCellChars {
		t.Errorf("stored %d characters, want %d", got, sheets.MaxCellChars)
	}
}

func TestAppendSyncLog(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	logRow := func(id string) table.Row {
		r := make(table.Row, len(table.SyncLog.Columns))
		r[0], r[1], r[3] = table.TextCell(id), table.TextCell("tickets"), table.TimeCell(at("2026-02-01 06:00:00"))
		r[6] = table.NumberCell(42)
		return r
	}
	for _, id := range []string{"run-1", "run-2"} {
		if err := sink.Append(ctx, table.SyncLog, []table.Row{logRow(id)}); err != nil {
			t.Fatal(err)
		}
	}
	back, err := sink.Rows(ctx, table.SyncLog)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]table.Row{logRow("run-1"), logRow("run-2")}, back); diff != "" {
		t.Errorf("Sync_Log (-want +got):\n%s", diff)
	}
	for key, want := range map[string]bool{"run-1": true, "run-2": true, "run-3": false, "tickets": false} {
		if got, err := sink.HasKey(ctx, table.SyncLog, key); err != nil || got != want {
			t.Errorf("HasKey(%q) = %v, %v; want %v", key, got, err, want)
		}
	}
	_ = srv
}

func TestSerialRoundTrip(t *testing.T) {
	for _, s := range []string{"1900-01-01 12:00:00", "2026-03-08 02:30:00", "2026-11-01 01:30:00", "2099-12-31 23:59:59"} {
		tm, _ := time.ParseInLocation(table.DateTimeLayout, s, time.UTC)
		back := sheets.FromSerial(sheets.Serial(tm), time.UTC)
		if !back.Equal(tm) {
			t.Errorf("%s: round trip gave %v", s, back)
		}
	}
	if got := sheets.Serial(time.Date(1900, 1, 1, 12, 0, 0, 0, time.UTC)); got != 2.5 {
		t.Errorf("Serial(1900-01-01 12:00) = %v, want 2.5", got)
	}
}

func BenchmarkUpsert10000(b *testing.B) {
	ctx := context.Background()
	sink, _ := setup(b)
	if err := sink.Ensure(ctx, table.Tickets); err != nil {
		b.Fatal(err)
	}
	rows := bigRows(10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := sink.Upsert(ctx, table.Tickets, rows, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAppendRetriesOnlyRefusals: a 429 is retried (nothing was written), a 500 is not (the row
// may have landed; the caller checks before appending again).
func TestAppendRetriesOnlyRefusals(t *testing.T) {
	ctx := context.Background()
	row := func(id string) []table.Row {
		r := make(table.Row, len(table.SyncLog.Columns))
		r[0] = table.TextCell(id)
		return []table.Row{r}
	}
	tests := []struct {
		code       int
		wantErr    bool
		wantWrites int64
		wantRows   int
	}{
		{429, false, 2, 1},
		{500, true, 1, 0},
	}
	for _, tt := range tests {
		sink, srv := setup(t)
		if err := sink.Ensure(ctx, table.SyncLog); err != nil {
			t.Fatal(err)
		}
		_, w0 := sink.Requests()
		srv.Inject(fakeapi.Fault{Code: tt.code})
		err := sink.Append(ctx, table.SyncLog, row("run-x"))
		_, w1 := sink.Requests()
		if (err != nil) != tt.wantErr || w1-w0 != tt.wantWrites {
			t.Errorf("%d: err %v after %d writes; want error %v after %d", tt.code, err, w1-w0, tt.wantErr, tt.wantWrites)
		}
		back, rerr := sink.Rows(ctx, table.SyncLog)
		if rerr != nil || len(back) != tt.wantRows {
			t.Errorf("%d: %d rows (%v), want %d", tt.code, len(back), rerr, tt.wantRows)
		}
	}
}
