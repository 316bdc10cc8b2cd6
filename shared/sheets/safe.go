package sheets

// Position-safe writes.
//
// Sheets has no conditional write: a batchUpdate addresses rows by position, and people sort,
// insert and delete rows in the same tab while a sync runs. Every write of the Sink that
// addresses rows by position (updating a record's cells, deleting rows) goes through a round:
//
//  1. open: one batchUpdate adds a protected range over the whole tab (only the spreadsheet's
//     owner and the Sink may then edit it) and returns the spreadsheet's tabs (their grid sizes,
//     for the cell budget, and the protections the Sink left earlier).
//  2. read: the header row and the key column (Prune: the key and date columns), in one request
//     (one consistent state of the tab), column-major. The header is verified here, before
//     every write.
//  3. write: one batchUpdate, atomic and ordered, that first copies every row it is about to
//     touch (whole rows, user columns included) into the Sink's hidden scratch tab together with
//     a fresh nonce, then updates cells, deletes rows bottom-up, appends new rows and removes the
//     protection; its response (responseRanges) returns the scratch tab's keys: the keys those
//     rows had at the instant the write applied.
//
// Protection narrows the read-to-write window to what an owner does in it; the snapshot closes
// it: when a snapshot key differs from the key the position was computed for, the Sink knows
// exactly which record's row was touched instead, and the scratch tab holds that row as it was.
// Updates never write the key cell, so a misplaced update leaves the other record's key beside
// its own notes with wrong values, which the next round restores by key from the snapshot; a
// misplaced delete is undone by appending the snapshot row (values, formats and the user's
// cells) back. The intended ops are then recomputed from a fresh read. Appends are not
// positional (appendCells lands after the last row with data).
//
// A write over one request's budget is split: the writes before the last carry no deletions, so
// positions hold and they go out in the same window; each is verified by its own snapshot.
//
// A write that may have been applied (a 5xx, a timeout, a dropped connection) is never resent:
// the Sink reads the scratch tab's nonce to learn whether it was applied, verifies it the same
// way if it was, and otherwise recomputes from a fresh read. Only a 429 (refused, so not
// applied) is retried as is. A batch costs one request more than a bare read-and-write (the
// protection), plus a scratch read and one more round only when something slipped through.
//
// Developer metadata on rows (it moves with them) was the alternative: it needs an entry written
// for every row (400,000 on a large tab), kept right when people copy or paste rows, and the
// API caps how much metadata a spreadsheet holds; the snapshot costs nothing between batches.
//
// The write's response also carries the tab's header, so columns an owner inserts or moves
// during the write are reported (*HeaderError) rather than written past.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/table"
)

// ScratchTab is the Sink's own hidden tab: the snapshot of the rows the last write touched.
const ScratchTab = "_supportsync"

// protectDescription marks the Sink's protected ranges.
const protectDescription = "supportsync is writing this tab (removed automatically within seconds)"

// CellLimit is the most cells a spreadsheet may hold, over every tab's grid, used or not.
const CellLimit = 10_000_000

// maxRounds bounds the rounds of one write when people keep moving rows.
const maxRounds = 6

// HeaderError says a tab's header row no longer matches the contract: a person renamed, moved
// or inserted a column. Nothing was written.
type HeaderError struct {
	Tab string
	// Problems name each differing contract column.
	Problems []string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("tab %q: header differs from the contract in %s (nothing was written; restore the header)",
		e.Tab, strings.Join(e.Problems, ", "))
}

// CellLimitError says a write would take the spreadsheet past CellLimit. Nothing was written.
type CellLimitError struct {
	Tab string
	// Need is how many cells the write would add; Used how many the spreadsheet has.
	Need, Used, Limit int64
}

func (e *CellLimitError) Error() string {
	return fmt.Sprintf("writing to %q needs %d more cells, but the spreadsheet has %d of its %d cells (%d left): "+
		"delete old rows or unused tabs, or shorten the retention", e.Tab, e.Need, e.Used, e.Limit, max(e.Limit-e.Used, 0))
}

// grid is a tab's size.
type grid struct{ rows, cols int64 }

func (g grid) cells() int64 { return g.rows * g.cols }

// window is one open round on a tab: its protection and the workbook's grid sizes.
type window struct {
	ours    []int64 // the Sink's protections on the tab, the one just added included
	grids   map[int64]grid
	tab     grid
	scratch int64
}

// used is how many cells the spreadsheet holds.
func (w window) used() int64 {
	var n int64
	for _, g := range w.grids {
		n += g.cells()
	}
	return n
}

// open protects the tab and returns the workbook's grids. A resent protect request adds a
// second protection, which the round's write removes with the first: it is safe to retry.
func (k *Sink) open(ctx context.Context, s table.Schema, id int64) (window, error) {
	req := &sheets.BatchUpdateSpreadsheetRequest{
		Requests: []*sheets.Request{{AddProtectedRange: &sheets.AddProtectedRangeRequest{ProtectedRange: &sheets.ProtectedRange{
			Range: &sheets.GridRange{SheetId: id}, Description: protectDescription,
		}}}},
		IncludeSpreadsheetInResponse: true,
	}
	var resp *sheets.BatchUpdateSpreadsheetResponse
	err := k.call(ctx, true, "spreadsheets.batchUpdate (protect)", func() (err error) {
		resp, err = k.svc.Spreadsheets.BatchUpdate(k.id, req).
			Fields("replies", "updatedSpreadsheet(sheets(properties(sheetId,title,gridProperties(rowCount,columnCount)),protectedRanges(protectedRangeId,description)))").
			Context(ctx).Do()
		return err
	})
	if err != nil {
		return window{}, err
	}
	w := window{grids: map[int64]grid{}, scratch: -1}
	if resp.UpdatedSpreadsheet == nil {
		return w, fmt.Errorf("spreadsheets.batchUpdate (protect): no spreadsheet in the response")
	}
	found := false
	for _, sh := range resp.UpdatedSpreadsheet.Sheets {
		p := sh.Properties
		if p == nil {
			continue
		}
		g := grid{}
		if p.GridProperties != nil {
			g = grid{p.GridProperties.RowCount, p.GridProperties.ColumnCount}
		}
		w.grids[p.SheetId] = g
		if p.Title == ScratchTab {
			w.scratch = p.SheetId
		}
		if p.SheetId == id {
			found = true
			w.tab = g
			for _, pr := range sh.ProtectedRanges {
				if pr.Description == protectDescription {
					w.ours = append(w.ours, pr.ProtectedRangeId)
				}
			}
		}
	}
	if !found {
		// A 400, as the API answers a request naming a deleted tab, so onTab ensures it again.
		return w, &googleapi.Error{Code: http.StatusBadRequest, Message: fmt.Sprintf("tab %q (sheet id %d) is not in the spreadsheet", s.Tab, id)}
	}
	if w.scratch < 0 {
		// A person deleted the scratch tab: add it back (rare, one more write).
		if err := k.addScratch(ctx, &w); err != nil {
			k.close(ctx, w)
			return w, err
		}
	}
	return w, nil
}

// addScratch adds the hidden scratch tab.
func (k *Sink) addScratch(ctx context.Context, w *window) error {
	used := map[int64]bool{}
	for id := range w.grids {
		used[id] = true
	}
	id := newSheetID(used)
	err := k.call(ctx, true, "spreadsheets.batchUpdate (scratch tab)", func() error {
		_, err := k.svc.Spreadsheets.BatchUpdate(k.id, &sheets.BatchUpdateSpreadsheetRequest{Requests: []*sheets.Request{scratchSheet(id)}}).
			Context(ctx).Do()
		return err
	})
	if err != nil {
		return err
	}
	w.scratch = id
	w.grids[id] = grid{1, 1}
	return nil
}

// scratchSheet is the request that adds the scratch tab.
func scratchSheet(id int64) *sheets.Request {
	return &sheets.Request{AddSheet: &sheets.AddSheetRequest{Properties: &sheets.SheetProperties{
		SheetId: id, Title: ScratchTab, Hidden: true,
		GridProperties: &sheets.GridProperties{RowCount: 1, ColumnCount: 1},
	}}}
}

// unprotect is the requests that remove the Sink's protections of a round.
func unprotect(w window) []*sheets.Request {
	var reqs []*sheets.Request
	for _, id := range slices.Compact(slices.Sorted(slices.Values(w.ours))) {
		reqs = append(reqs, &sheets.Request{DeleteProtectedRange: &sheets.DeleteProtectedRangeRequest{ProtectedRangeId: id}})
	}
	return reqs
}

// close removes the round's protections when the round ends without its write (best effort:
// the next round removes what is left).
func (k *Sink) close(ctx context.Context, w window) {
	reqs := unprotect(w)
	if len(reqs) == 0 {
		return
	}
	err := k.call(ctx, true, "spreadsheets.batchUpdate (unprotect)", func() error {
		_, err := k.svc.Spreadsheets.BatchUpdate(k.id, &sheets.BatchUpdateSpreadsheetRequest{Requests: reqs}).Context(ctx).Do()
		return err
	})
	if err != nil {
		k.log.WarnContext(ctx, "sheets: could not remove the write protection; the next write removes it", "error", err)
	}
}

// update writes a record's contract cells, except the key, at a grid row.
type update struct {
	idx  int64
	key  string
	data *sheets.RowData // cells of columns 1..n-1
}

// deletion deletes the grid row idx, expected to hold key (blank for a blank row).
type deletion struct {
	idx int64
	key string
}

// ops is one round's write.
type ops struct {
	updates []update
	deletes []deletion
	appends []*sheets.RowData
}

func (o ops) empty() bool { return len(o.updates)+len(o.deletes)+len(o.appends) == 0 }

// touched is a grid row the write changes in place, with the key the plan expects there.
type touched struct {
	idx    int64
	key    string
	update int // index in ops.updates, or -1 for a deletion
	del    int // index in ops.deletes, or -1
}

// outcome is what a round's verification found.
type outcome struct {
	applied bool
	// refused is the 400 that refused a write: nothing was applied.
	refused error
	// okUpdate / okDelete mark the ops that landed on the rows they were computed for.
	okUpdate, okDelete []bool
	// restore holds records whose contract cells a misplaced update overwrote (by key, the
	// cells as they were, columns 1..n-1); reinsert holds rows a misplaced delete removed,
	// whole (user columns included).
	restore  map[string]*sheets.RowData
	reinsert []*sheets.RowData
	// blankHit is set when a misplaced update wrote into a row without a key.
	blankHit bool
}

// nonce returns a fresh random marker for a write.
func nonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "supportsync " + hex.EncodeToString(b[:])
}

// write sends ops in one batchUpdate, with the snapshot and, when last, the unprotect, and
// verifies them. dataRows is how many rows the data has below the header. A write that
// applied updates w's grid sizes.
func (k *Sink) write(ctx context.Context, s table.Schema, id int64, wp *window, o ops, dataRows int64, last bool) (outcome, error) {
	w := *wp
	ncols := int64(len(s.Columns))
	width := w.tab.cols
	if width < ncols {
		k.close(ctx, w)
		return outcome{}, fmt.Errorf("tab %q has %d columns, fewer than its %d contract columns", s.Tab, width, ncols)
	}
	var t []touched
	for i, u := range o.updates {
		t = append(t, touched{idx: u.idx, key: u.key, update: i, del: -1})
	}
	for i, d := range o.deletes {
		t = append(t, touched{idx: d.idx, key: d.key, update: -1, del: i})
	}
	slices.SortFunc(t, func(a, b touched) int { return int(a.idx - b.idx) })

	// The cell budget: appended rows past the grid, and the scratch tab's new size.
	growth := max(0, 1+dataRows+int64(len(o.appends))-w.tab.rows)*w.tab.cols +
		(int64(len(t))+1)*width - w.grids[w.scratch].cells()
	if used := w.used(); used+growth > CellLimit {
		k.close(ctx, w)
		return outcome{}, &CellLimitError{Tab: s.Tab, Need: growth, Used: used, Limit: CellLimit}
	} else if used+growth >= CellLimit*8/10 {
		k.log.WarnContext(ctx, "sheets: the spreadsheet is near its cell limit", "event", "sheets_cells_warning",
			"tab", s.Tab, "cells", used+growth, "limit", CellLimit, "left", CellLimit-used-growth)
	}

	mark := nonce()
	reqs := []*sheets.Request{
		{UpdateSheetProperties: &sheets.UpdateSheetPropertiesRequest{
			Properties: &sheets.SheetProperties{SheetId: w.scratch, GridProperties: &sheets.GridProperties{RowCount: int64(len(t)) + 1, ColumnCount: width}},
			Fields:     "gridProperties.rowCount,gridProperties.columnCount",
		}},
		keepMarker(w.scratch),
		setMarker(w.scratch, mark),
	}
	// Snapshot: one copyPaste per run of consecutive touched rows.
	for i := 0; i < len(t); {
		j := i + 1
		for j < len(t) && t[j].idx == t[j-1].idx+1 {
			j++
		}
		reqs = append(reqs, &sheets.Request{CopyPaste: &sheets.CopyPasteRequest{
			Source: &sheets.GridRange{SheetId: id, StartRowIndex: t[i].idx, EndRowIndex: t[j-1].idx + 1,
				StartColumnIndex: 0, EndColumnIndex: width},
			Destination: &sheets.GridRange{SheetId: w.scratch, StartRowIndex: int64(i) + 1, EndRowIndex: int64(j) + 1,
				StartColumnIndex: 0, EndColumnIndex: width},
			PasteType: "PASTE_NORMAL",
		}})
		i = j
	}
	// Updates, in runs of consecutive rows, from column B: the key cell is never rewritten.
	ups := slices.Clone(o.updates)
	slices.SortFunc(ups, func(a, b update) int { return int(a.idx - b.idx) })
	for i := 0; i < len(ups); {
		j := i + 1
		for j < len(ups) && ups[j].idx == ups[j-1].idx+1 {
			j++
		}
		rows := make([]*sheets.RowData, j-i)
		for n, u := range ups[i:j] {
			rows[n] = u.data
		}
		reqs = append(reqs, &sheets.Request{UpdateCells: &sheets.UpdateCellsRequest{
			Range: &sheets.GridRange{SheetId: id, StartRowIndex: ups[i].idx, EndRowIndex: ups[j-1].idx + 1,
				StartColumnIndex: 1, EndColumnIndex: ncols},
			Rows: rows, Fields: cellFields,
		}})
		i = j
	}
	del := make([]int64, len(o.deletes))
	for i, d := range o.deletes {
		del[i] = d.idx
	}
	reqs = append(reqs, deleteRequests(id, del, dataRows)...)
	if len(o.appends) > 0 {
		reqs = append(reqs, &sheets.Request{AppendCells: &sheets.AppendCellsRequest{SheetId: id, Rows: o.appends,
			Fields: "userEnteredValue,userEnteredFormat.numberFormat"}})
	}
	if last {
		reqs = append(reqs, unprotect(w)...)
	}

	snap := fmt.Sprintf("%s!A1:A%d", quoteTab(ScratchTab), len(t)+1)
	body := &sheets.BatchUpdateSpreadsheetRequest{Requests: reqs, IncludeSpreadsheetInResponse: true,
		ResponseIncludeGridData: true, ResponseRanges: []string{snap, quoteTab(s.Tab) + "!1:1", previousMarkerRange}}
	var resp *sheets.BatchUpdateSpreadsheetResponse
	err := k.callRetrying(ctx, true, "spreadsheets.batchUpdate", unapplied, func() (err error) {
		resp, err = k.svc.Spreadsheets.BatchUpdate(k.id, body).Context(ctx).Do()
		return err
	})
	var keys []any
	switch {
	case err == nil:
		keys = snapshotKeys(resp)
		k.noteMarker(previousMarker(resp), mark)
		// The owner may insert or move columns even in a protected tab: the header as it is
		// right after the write says whether the cells went into the contract columns.
		if herr := checkHeader(s, headerOf(resp, s.Tab)); herr != nil {
			k.log.ErrorContext(ctx, "sheets: columns moved while a batch was written", "event", "sheets_columns_moved",
				"tab", s.Tab, "error", herr)
			if !last {
				k.close(ctx, w)
			}
			return outcome{}, fmt.Errorf("columns moved while the batch was written (check the rows written last): %w", herr)
		}
	case retryable(err) && ctx.Err() == nil:
		// Maybe applied: the nonce says. Never resend the positional write.
		k.log.WarnContext(ctx, "sheets: a write may have been applied; checking before anything else", "tab", s.Tab, "error", err)
		vr, rerr := k.readRange(ctx, snap)
		if rerr != nil {
			k.close(ctx, w) // best effort: the protections are gone if the write landed
			return outcome{}, errors.Join(err, fmt.Errorf("checking whether the write landed: %w", rerr))
		}
		for _, r := range vr.Values {
			var v any
			if len(r) > 0 {
				v = r[0]
			}
			keys = append(keys, v)
		}
		if len(keys) == 0 || keyOf(keys[0]) != mark {
			k.log.InfoContext(ctx, "sheets: the write was not applied; recomputing", "tab", s.Tab)
			return outcome{}, nil
		}
		k.noteMarker(nil, mark) // what it replaced is unknown: keep no layout
	default:
		k.close(ctx, w)
		var ge *googleapi.Error
		if errors.As(err, &ge) && ge.Code == http.StatusBadRequest {
			// Refused whole (a batchUpdate is atomic), as when a person deleted rows the
			// write addresses: recompute from a fresh read.
			return outcome{refused: err}, nil
		}
		return outcome{}, err
	}
	if len(keys) == 0 || keyOf(keys[0]) != mark {
		return outcome{}, fmt.Errorf("spreadsheets.batchUpdate: the scratch tab %q does not hold this write's nonce", ScratchTab)
	}
	keys = keys[1:]
	// The grids as the write left them, for the budget of a next write in the same window.
	wp.grids[w.scratch] = grid{int64(len(t)) + 1, width}
	if need := 1 + dataRows + int64(len(o.appends)) - int64(len(o.deletes)); need > w.tab.rows {
		wp.tab.rows = need
		wp.grids[id] = wp.tab
	}
	out, err := k.verify(ctx, s, w, t, o, keys, len(t), width)
	if err != nil && !last {
		k.close(ctx, w)
	}
	return out, err
}

// previousMarkerRange is where a write keeps the marker it replaces (keepMarker).
var previousMarkerRange = quoteTab(ScratchTab) + "!B1"

// keepMarker copies the scratch tab's marker (A1) to B1, so the write that replaces it can
// tell whether it was the one this Sink left: the first request of every write that sets a
// marker (the scratch tab is at least two columns wide by then).
func keepMarker(scratch int64) *sheets.Request {
	return &sheets.Request{CopyPaste: &sheets.CopyPasteRequest{
		Source:      &sheets.GridRange{SheetId: scratch, StartRowIndex: 0, EndRowIndex: 1, StartColumnIndex: 0, EndColumnIndex: 1},
		Destination: &sheets.GridRange{SheetId: scratch, StartRowIndex: 0, EndRowIndex: 1, StartColumnIndex: 1, EndColumnIndex: 2},
		PasteType:   "PASTE_VALUES",
	}}
}

// setMarker writes a write's marker into the scratch tab's A1.
func setMarker(scratch int64, mark string) *sheets.Request {
	return &sheets.Request{UpdateCells: &sheets.UpdateCellsRequest{
		Range:  &sheets.GridRange{SheetId: scratch, StartRowIndex: 0, EndRowIndex: 1, StartColumnIndex: 0, EndColumnIndex: 1},
		Rows:   []*sheets.RowData{{Values: []*sheets.CellData{{UserEnteredValue: &sheets.ExtendedValue{StringValue: &mark}}}}},
		Fields: "userEnteredValue",
	}}
}

// noteMarker records that a write of this Sink left mark in the scratch tab, replacing prev
// (nil when unknown). When prev is not the marker this Sink left last, someone else wrote the
// spreadsheet since: every kept layout is dropped. The caller holds writeMu.
func (k *Sink) noteMarker(prev []any, mark string) {
	var p any
	if len(prev) > 0 {
		p = prev[0]
	}
	if k.marker == "" || keyOf(p) != k.marker {
		clear(k.layouts)
	}
	k.marker = mark
}

// previousMarker returns the scratch tab's B1 from a write's response.
func previousMarker(resp *sheets.BatchUpdateSpreadsheetResponse) []any {
	if resp == nil || resp.UpdatedSpreadsheet == nil {
		return nil
	}
	for _, sh := range resp.UpdatedSpreadsheet.Sheets {
		if sh.Properties == nil || sh.Properties.Title != ScratchTab {
			continue
		}
		for _, gd := range sh.Data {
			if gd.StartColumn == 1 && gd.StartRow == 0 {
				return columnOf(gd)
			}
		}
	}
	return nil
}

// snapshotKeys returns the scratch tab's column A from a write's response.
func snapshotKeys(resp *sheets.BatchUpdateSpreadsheetResponse) []any {
	if resp == nil || resp.UpdatedSpreadsheet == nil {
		return nil
	}
	for _, sh := range resp.UpdatedSpreadsheet.Sheets {
		if sh.Properties != nil && sh.Properties.Title != ScratchTab {
			continue
		}
		var out []any
		for _, gd := range sh.Data {
			if gd.StartColumn != 0 {
				continue // the previous marker (B1)
			}
			for i := int64(len(out)); i < gd.StartRow; i++ {
				out = append(out, nil)
			}
			out = append(out, columnOf(gd)...)
		}
		return out
	}
	return nil
}

// headerOf returns a tab's header row from a write's response.
func headerOf(resp *sheets.BatchUpdateSpreadsheetResponse, tab string) []any {
	if resp == nil || resp.UpdatedSpreadsheet == nil {
		return nil
	}
	for _, sh := range resp.UpdatedSpreadsheet.Sheets {
		if sh.Properties == nil || sh.Properties.Title != tab {
			continue
		}
		var out []any
		for _, gd := range sh.Data {
			if gd.StartRow != 0 || len(gd.RowData) == 0 || gd.RowData[0] == nil {
				continue
			}
			for _, cd := range gd.RowData[0].Values {
				var v any
				if cd != nil {
					v = extValue(cd.UserEnteredValue)
				}
				out = append(out, v)
			}
		}
		return out
	}
	return nil
}

// extValue is an ExtendedValue as the values API would render it unformatted.
func extValue(v *sheets.ExtendedValue) any {
	switch {
	case v == nil:
		return nil
	case v.StringValue != nil:
		return *v.StringValue
	case v.NumberValue != nil:
		return *v.NumberValue
	case v.BoolValue != nil:
		return *v.BoolValue
	case v.FormulaValue != nil:
		return *v.FormulaValue
	}
	return nil
}

// verify compares the snapshot's keys with the plan and, when rows moved, reads the snapshot
// rows it needs to repair.
func (k *Sink) verify(ctx context.Context, s table.Schema, w window, t []touched, o ops, keys []any, n int, width int64) (outcome, error) {
	out := outcome{applied: true, okUpdate: make([]bool, len(o.updates)), okDelete: make([]bool, len(o.deletes))}
	ok := func(tt touched) {
		if tt.update >= 0 {
			out.okUpdate[tt.update] = true
		} else {
			out.okDelete[tt.del] = true
		}
	}
	var bad, keyless []int
	for i, tt := range t {
		var got string
		if i < len(keys) {
			got = keyOf(keys[i])
		}
		switch {
		case got != tt.key:
			bad = append(bad, i)
		case tt.key == "" && tt.del >= 0 && width > int64(len(s.Columns)):
			keyless = append(keyless, i) // deleted a row without a key: was it a person's?
		default:
			ok(tt)
		}
	}
	if len(bad)+len(keyless) == 0 {
		return out, nil
	}
	rows, err := k.scratchRows(ctx, n, width)
	if err != nil {
		return out, fmt.Errorf("reading the snapshot of %d misplaced rows: %w", len(bad)+len(keyless), err)
	}
	ncols := len(s.Columns)
	for _, i := range keyless {
		// A row without a key but with cells right of the contract was a person's: put it back.
		if i < len(rows) && rows[i] != nil && slices.ContainsFunc(rows[i].Values[min(ncols, len(rows[i].Values)):], hasValue) {
			bad = append(bad, i)
		} else {
			ok(t[i])
		}
	}
	if len(bad) == 0 {
		return out, nil
	}
	k.log.WarnContext(ctx, "sheets: rows moved between the read and the write; repairing", "event", "sheets_rows_moved",
		"tab", s.Tab, "misplaced", len(bad), "touched", len(t))
	out.restore = map[string]*sheets.RowData{}
	for _, i := range bad {
		var rd *sheets.RowData
		if i < len(rows) {
			rd = rows[i]
		}
		if rd == nil {
			rd = &sheets.RowData{}
		}
		key := ""
		if len(rd.Values) > 0 && rd.Values[0] != nil {
			key = keyOf(extValue(rd.Values[0].UserEnteredValue))
		}
		if t[i].update >= 0 {
			// The update landed on another row: restore that record's contract cells.
			if key == "" {
				out.blankHit = true
			}
			if key != "" {
				cells := make([]*sheets.CellData, ncols-1)
				for c := 1; c < ncols; c++ {
					cd := &sheets.CellData{}
					if c < len(rd.Values) && rd.Values[c] != nil {
						cd = &sheets.CellData{UserEnteredValue: rd.Values[c].UserEnteredValue, UserEnteredFormat: numberFormatOnly(rd.Values[c].UserEnteredFormat)}
					}
					cells[c-1] = cd
				}
				out.restore[key] = &sheets.RowData{Values: cells}
			}
			continue
		}
		// The delete removed another row: put it back, whole, unless it held nothing.
		if rowHasValue(rd) {
			vals := make([]*sheets.CellData, len(rd.Values))
			for c, cd := range rd.Values {
				if cd == nil {
					cd = &sheets.CellData{}
				}
				vals[c] = &sheets.CellData{UserEnteredValue: cd.UserEnteredValue, UserEnteredFormat: numberFormatOnly(cd.UserEnteredFormat)}
			}
			out.reinsert = append(out.reinsert, &sheets.RowData{Values: vals})
		}
	}
	return out, nil
}

func numberFormatOnly(f *sheets.CellFormat) *sheets.CellFormat {
	if f == nil || f.NumberFormat == nil {
		return nil
	}
	return &sheets.CellFormat{NumberFormat: f.NumberFormat}
}

func rowHasValue(rd *sheets.RowData) bool { return slices.ContainsFunc(rd.Values, hasValue) }

// hasValue reports whether a cell holds a value.
func hasValue(cd *sheets.CellData) bool {
	if cd == nil || cd.UserEnteredValue == nil {
		return false
	}
	v := extValue(cd.UserEnteredValue)
	return v != nil && v != ""
}

// scratchRows reads the snapshot rows (grid rows 1..n of the scratch tab) with their cells.
func (k *Sink) scratchRows(ctx context.Context, n int, width int64) ([]*sheets.RowData, error) {
	rng := fmt.Sprintf("%s!A2:%s%d", quoteTab(ScratchTab), colName(int(width)-1), n+1)
	var ss *sheets.Spreadsheet
	err := k.call(ctx, false, "spreadsheets.get (snapshot)", func() (err error) {
		ss, err = k.svc.Spreadsheets.Get(k.id).Ranges(rng).IncludeGridData(true).
			Fields("sheets(properties(title),data(startRow,rowData(values(userEnteredValue,userEnteredFormat(numberFormat)))))").
			Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, sh := range ss.Sheets {
		if sh.Properties != nil && sh.Properties.Title != ScratchTab {
			continue
		}
		for _, gd := range sh.Data {
			return gd.RowData, nil
		}
	}
	return nil, nil
}
