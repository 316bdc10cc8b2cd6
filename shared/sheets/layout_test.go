package sheets_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/table"
)

// readCounter counts the bytes of the Sheets API's answers to GET requests (the reads) and
// of the bodies of the other requests (the writes).
type readCounter struct {
	bytes, sent atomic.Int64
}

func (c *readCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		c.sent.Add(int64(len(body)))
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.bytes.Add(int64(len(body)))
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp, err
}

// countingSink is a Sink on srv whose reads are measured.
func countingSink(t *testing.T, srv *sheetsfake.Server) (*sheets.Sink, *readCounter) {
	t.Helper()
	rc := &readCounter{}
	svc, err := sheets.NewService(context.Background(), srv.URL, &http.Client{Transport: rc})
	if err != nil {
		t.Fatal(err)
	}
	return sheets.New(svc, sheetID, halifax, sheets.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))), rc
}

func keyed(prefix string, from, to, version int) []table.Row {
	var rows []table.Row
	for i := from; i < to; i++ {
		rows = append(rows, row(fmt.Sprintf("%s%05d", prefix, i), fmt.Sprintf("v%d", version), "2026-01-02 03:04:05", float64(version), version%2 == 0))
	}
	return rows
}

// TestLayoutSparesTheKeyColumnRead: after a batch, the next one checks what it knows of the tab
// with a read whose size does not grow with the tab (the keys of the rows it updates, the
// last row), instead of reading the key column.
func TestLayoutSparesTheKeyColumnRead(t *testing.T) {
	ctx := context.Background()
	_, srv := setup(t)
	sink, rc := countingSink(t, srv)
	if _, err := sink.Upsert(ctx, small, keyed("k", 0, 5000, 1), nil); err != nil {
		t.Fatal(err)
	}
	var reads []int64
	for b := range 3 {
		before := rc.bytes.Load()
		// 10 updates in one run and 10 new records.
		rows := append(keyed("k", 100*b, 100*b+10, 2), keyed("n", 10*b, 10*b+10, 1)...)
		res, err := sink.Upsert(ctx, small, rows, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Updated != 10 || res.Inserted != 10 {
			t.Fatalf("batch %d: %+v, want 10 updated and 10 inserted", b, res)
		}
		reads = append(reads, rc.bytes.Load()-before)
	}
	// The key column of 5,000 rows is over 30 KB as JSON; each check is a few hundred bytes.
	for b, n := range reads {
		if n > 2000 {
			t.Errorf("batch %d read %d bytes, want a small check (reads %v)", b+1, n, reads)
		}
	}
	d := display(t, srv, "T")
	if len(d) != 1+5030 {
		t.Fatalf("%d rows, want 5,031", len(d))
	}
	want := map[string]string{}
	for b := range 3 {
		for i := 100 * b; i < 100*b+10; i++ {
			want[fmt.Sprintf("k%05d", i)] = "v2"
		}
	}
	for _, r := range d[1:] {
		v := want[r[0]]
		if v == "" {
			v = "v1"
		}
		if r[1] != v {
			t.Errorf("row %q: want %s", r, v)
		}
		if r[2] != "2026-01-02 03:04:05" {
			t.Fatalf("row %v: the date is not shown as a date (its format is missing)", r)
		}
	}
}

// TestLayoutCheckSeesOtherWriters: another writer (a second instance) adds a record between two
// batches of a Sink that kept its layout; the Sink notices (the scratch tab's marker is not its
// own) and updates that record instead of appending it twice.
func TestLayoutCheckSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	a, srv := setup(t)
	b := newSink(t, srv)
	if _, err := a.Upsert(ctx, small, keyed("k", 0, 20, 1), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Upsert(ctx, small, keyed("k", 20, 21, 1), nil); err != nil {
		t.Fatal(err)
	}
	res, err := a.Upsert(ctx, small, keyed("k", 19, 21, 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 2 || res.Inserted != 0 {
		t.Errorf("%+v, want 2 updated", res)
	}
	d := display(t, srv, "T")
	if len(d) != 22 || d[21][0] != "k00020" || d[21][1] != "v2" {
		t.Errorf("sheet ends %q, want 21 records, k00020 last with v2", d[len(d)-1])
	}
}

// TestLayoutCheckSeesPeopleBetweenBatches: between two batches people sort the tab, delete a
// row and type a row below the data; each time the next batch writes every record beside its own
// key, and the person's row stays. The check, not the write's repair, catches it: the Sink reads
// the key column again and nothing lands on a moved row.
func TestLayoutCheckSeesPeopleBetweenBatches(t *testing.T) {
	edits := map[string]func(srv *sheetsfake.Server) error{
		"sort": func(srv *sheetsfake.Server) error {
			return srv.SortRows(sheetID, "T", sheetsfake.Owner, 0, rand.New(rand.NewPCG(1, 2)))
		},
		"delete a row above": func(srv *sheetsfake.Server) error { return srv.DeleteRows(sheetID, "T", sheetsfake.Owner, 3, 1) },
		"insert a row above": func(srv *sheetsfake.Server) error { return srv.InsertRows(sheetID, "T", sheetsfake.Owner, 3, 1) },
		"a row typed below":  func(srv *sheetsfake.Server) error { return srv.SetCell(sheetID, "T", "A42", "typed") },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var logs bytes.Buffer
			sink, srv := setup(t, sheets.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if _, err := sink.Upsert(ctx, small, keyed("k", 0, 40, 1), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := sink.Upsert(ctx, small, keyed("k", 0, 2, 2), nil); err != nil { // a layout is kept
				t.Fatal(err)
			}
			if err := edit(srv); err != nil {
				t.Fatal(err)
			}
			logs.Reset()
			res, err := sink.Upsert(ctx, small, append(keyed("k", 10, 30, 3), keyed("n", 0, 3, 3)...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Updated != 20 || res.Inserted != 3 {
				t.Errorf("%+v, want 20 updated, 3 inserted", res)
			}
			seen := map[string]int{}
			for _, r := range display(t, srv, "T")[1:] {
				if r[0] == "" || r[0] == "typed" {
					continue
				}
				seen[r[0]]++
				var n int
				fmt.Sscanf(r[0][1:], "%d", &n)
				want := "v1"
				switch {
				case r[0][0] == 'n' || n >= 10 && n < 30:
					want = "v3"
				case n < 2:
					want = "v2"
				}
				if r[1] != want || r[3] != want[1:] {
					t.Errorf("row %q: want %s (values beside the wrong key)", r, want)
				}
			}
			records := 43
			if name == "delete a row above" {
				records = 42 // the person deleted k00002's row, and the record with it
			}
			if len(seen) != records {
				t.Errorf("%d records, want %d", len(seen), records)
			}
			if l := logs.String(); !strings.Contains(l, "the tab changed since the last batch") || strings.Contains(l, "sheets_rows_moved") {
				t.Errorf("want the layout check to see the change before any write; logs:\n%s", l)
			}
			for key, n := range seen {
				if n != 1 {
					t.Errorf("%s %d times", key, n)
				}
			}
		})
	}
}

// TestAppendAppliedThen500: the append of new records is applied and answered 500; it is not
// resent blindly: the next round finds the records, and each is in the tab once, with its
// date format, counted as inserted.
func TestAppendAppliedThen500(t *testing.T) {
	for _, fault := range []string{"append", "formats"} {
		t.Run(fault, func(t *testing.T) {
			ctx := context.Background()
			sink, srv := setup(t)
			if _, err := sink.Upsert(ctx, small, keyed("k", 0, 5, 1), nil); err != nil {
				t.Fatal(err)
			}
			appended := false
			srv.OnRequest(func(c sheetsfake.Call) {
				switch {
				case fault == "append" && c.Method == "spreadsheets.values.append" && !appended:
					appended = true
					srv.Inject(fakeapi.Fault{Answer: fakeapi.AfterApply, Code: 500})
				case fault == "formats" && c.Method == "spreadsheets.values.append":
					appended = true
				case fault == "formats" && appended && c.Method == "spreadsheets.batchUpdate":
					appended = false
					srv.Inject(fakeapi.Fault{Code: 503}) // refused: the new rows have no formats
				}
			})
			res, err := sink.Upsert(ctx, small, append(keyed("k", 0, 2, 2), keyed("n", 0, 3, 1)...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Updated != 2 || res.Inserted != 3 {
				t.Errorf("%+v, want 2 updated, 3 inserted", res)
			}
			d := display(t, srv, "T")
			if len(d) != 9 {
				t.Fatalf("%d rows, want 9: %q", len(d), d)
			}
			for _, r := range d[6:] {
				if !strings.HasPrefix(r[0], "n") || r[2] != "2026-01-02 03:04:05" || r[3] != "1" {
					t.Errorf("row %q: want a new record with its date shown as a date", r)
				}
			}
		})
	}
}

// TestUnchangedRowsAreNotWritten: a batch whose records mostly hold the values the sheet has
// (a full run of an account where little changed) writes only the records that changed; the
// others count as updated and keep what people did to them (here, a number format).
func TestUnchangedRowsAreNotWritten(t *testing.T) {
	ctx := context.Background()
	_, srv := setup(t)
	sink, rc := countingSink(t, srv)
	if _, err := sink.Upsert(ctx, small, keyed("k", 0, 1000, 1), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Upsert(ctx, small, keyed("n", 0, 1, 1), nil); err != nil { // the layout is kept
		t.Fatal(err)
	}
	all := keyed("k", 0, 1000, 1)
	changed := map[string]bool{}
	for _, i := range []int{3, 500, 999} {
		all[i] = row(fmt.Sprintf("k%05d", i), "changed", "2026-01-02 03:04:05", 7, true)
		changed[all[i].Key()] = true
	}
	before := rc.sent.Load()
	res, err := sink.Upsert(ctx, small, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 1000 || res.Inserted != 0 {
		t.Errorf("%+v, want 1,000 updated", res)
	}
	if sent := rc.sent.Load() - before; sent > 8000 {
		t.Errorf("sent %d bytes for 3 changed records, want a small write", sent)
	}
	for _, r := range display(t, srv, "T")[1:] {
		want := "v1"
		if changed[r[0]] {
			want = "changed"
		}
		if r[0] != "n00000" && r[1] != want {
			t.Errorf("row %q: want %s", r, want)
		}
	}
}
