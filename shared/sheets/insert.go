package sheets

// New records.
//
// A new record is not positional: it goes below the data. So the Sink appends new records with
// spreadsheets.values.append, RAW, INSERT_ROWS, rather than with typed cells inside the
// positional write: the values API takes a row as a plain JSON array (["T1", "Subject",
// 46023.5, true]) where a typed cell is an object three levels deep with its number format.
// RAW stores each value as the JSON type it has (a text that looks like a number or a formula
// stays text), so the cells are the same as the typed write's; the date-time columns' number
// format follows in the request that ends the window, over the rows the append reports it
// wrote. INSERT_ROWS inserts rows for the new data, so it never writes over anything, whatever
// people do meanwhile.
//
// Measured (go test -run '^$' -bench BenchmarkEncode ./shared/sheets/): 5,000 tickets' rows
// as values are 1.0 MB against 6.3 MB as typed cells, encode 15 to 40 times faster through
// the client (each generated type re-encodes and re-validates its nested ones) and decode
// about 8 times faster.
//
// An append that may have been applied (a 5xx, a timeout) is not resent: the next round reads
// the key column, finds what landed and writes those records as typed updates, which also
// gives them their formats; they are still counted as inserted.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/table"
)

// appendNew appends the records of news (keys of p.want) below the data and ends the window w:
// the rows' date-time formats, this write's marker and the removal of the protection, in one
// batchUpdate. It reports false when an append may have landed without the Sink knowing (the
// caller reads the tab again). l is updated with the rows' positions.
func (k *Sink) appendNew(ctx context.Context, s table.Schema, id int64, w *window, l *layout, p *pending, res *Result, news []string) (bool, error) {
	ncols := len(s.Columns)
	// The cell budget: INSERT_ROWS grows the grid by every row appended.
	growth := int64(len(news)) * max(w.tab.cols, int64(ncols))
	if used := w.used(); used+growth > CellLimit {
		k.close(ctx, *w)
		return false, &CellLimitError{Tab: s.Tab, Need: growth, Used: used, Limit: CellLimit}
	} else if used+growth >= CellLimit*8/10 {
		k.log.WarnContext(ctx, "sheets: the spreadsheet is near its cell limit", "event", "sheets_cells_warning",
			"tab", s.Tab, "cells", used+growth, "limit", CellLimit, "left", CellLimit-used-growth)
	}
	rng := fmt.Sprintf("%s!A:%s", quoteTab(s.Tab), colName(ncols-1))
	var done []landed
	for _, part := range k.valueChunks(p, news, ncols) {
		vals := make([][]any, len(part))
		for i, key := range part {
			vals[i] = p.raw(key)
		}
		var resp *sheets.AppendValuesResponse
		err := k.callRetrying(ctx, true, "spreadsheets.values.append", unapplied, func() (err error) {
			resp, err = k.svc.Spreadsheets.Values.Append(k.id, rng, &sheets.ValueRange{MajorDimension: "ROWS", Values: vals}).
				ValueInputOption("RAW").InsertDataOption("INSERT_ROWS").Context(ctx).Do()
			return err
		})
		if err != nil {
			k.close(ctx, *w)
			k.lost(p, done, part)
			if !retryable(err) {
				return false, err
			}
			// It may have landed: the next round finds out.
			k.log.WarnContext(ctx, "sheets: an append may have been applied; reading the tab again", "tab", s.Tab, "error", err)
			return false, nil
		}
		at, err := rangeStartRow(resp.Updates)
		if err != nil {
			k.close(ctx, *w)
			k.lost(p, done, part)
			return false, err
		}
		done = append(done, landed{at: at, keys: part})
		l.appended(at, part)
		w.tab.rows += int64(len(part))
		w.grids[id] = w.tab
	}
	// End the window: the new rows' number formats, the marker, no protection.
	mark := nonce()
	reqs := []*sheets.Request{widenScratch(*w), keepMarker(w.scratch), setMarker(w.scratch, mark)}
	for _, d := range done {
		reqs = append(reqs, rowFormats(s, id, d.at, d.at+int64(len(d.keys)))...)
	}
	reqs = append(reqs, unprotect(*w)...)
	// The response says where the new rows are once formatted (sampled: see sample), and the
	// header as it is then.
	ranges := []string{previousMarkerRange, quoteTab(s.Tab) + "!1:1"}
	checks := sample(done)
	for _, c := range checks {
		ranges = append(ranges, fmt.Sprintf("%s!A%d", quoteTab(s.Tab), c.row+1))
	}
	var resp *sheets.BatchUpdateSpreadsheetResponse
	err := k.callRetrying(ctx, true, "spreadsheets.batchUpdate (formats)", unapplied, func() (err error) {
		resp, err = k.svc.Spreadsheets.BatchUpdate(k.id, &sheets.BatchUpdateSpreadsheetRequest{Requests: reqs,
			IncludeSpreadsheetInResponse: true, ResponseIncludeGridData: true, ResponseRanges: ranges}).
			Fields("updatedSpreadsheet(sheets(properties(title),data(startRow,startColumn,rowData(values(userEnteredValue)))))").
			Context(ctx).Do()
		return err
	})
	if err != nil {
		// The rows landed; their formats may not have. Write them once more as typed cells
		// (which carry the formats) in the next round.
		k.log.WarnContext(ctx, "sheets: could not set the new rows' formats; rewriting them", "tab", s.Tab, "error", err)
		k.close(ctx, *w)
		k.lost(p, done, nil)
		return false, nil
	}
	if herr := checkHeader(s, headerOf(resp, s.Tab)); herr != nil {
		k.log.ErrorContext(ctx, "sheets: columns moved while a batch was written", "event", "sheets_columns_moved",
			"tab", s.Tab, "error", herr)
		k.lost(p, done, nil)
		return false, fmt.Errorf("columns moved while the batch was written (check the rows written last): %w", herr)
	}
	if got := appendedKeys(resp, s.Tab); !landedAt(checks, got) {
		// A person moved rows between the append and its formats: the formats went to other
		// rows of the same columns (where a typed write puts the same ones), and the new rows
		// are written again, typed, from a fresh read.
		k.log.WarnContext(ctx, "sheets: rows moved while new rows were formatted; rewriting them", "event", "sheets_rows_moved", "tab", s.Tab)
		k.noteMarker(previousMarker(resp), mark)
		k.lost(p, done, nil)
		return false, nil
	}
	k.noteMarker(previousMarker(resp), mark)
	for _, d := range done {
		for _, key := range d.keys {
			delete(p.want, key)
			res.Inserted++
		}
	}
	return true, nil
}

// lost handles appends whose outcome the Sink does not fully know (the rows of done landed but
// the window was not ended; part may have landed): their records stay to be written, and are
// counted as inserted when the next round finds them in the tab. The tab changed without a
// marker, so no layout is kept.
func (k *Sink) lost(p *pending, done []landed, part []string) {
	for _, d := range done {
		for _, key := range d.keys {
			p.maybeAppended[key] = true
		}
	}
	for _, key := range part {
		p.maybeAppended[key] = true
	}
	k.marker = ""
	clear(k.layouts)
}

// appendedKeys returns the key columns the closing request read back: one per landed run, in
// order (the tab's data entries after its header row).
func appendedKeys(resp *sheets.BatchUpdateSpreadsheetResponse, tab string) [][]any {
	if resp == nil || resp.UpdatedSpreadsheet == nil {
		return nil
	}
	var out [][]any
	for _, sh := range resp.UpdatedSpreadsheet.Sheets {
		if sh.Properties == nil || sh.Properties.Title != tab {
			continue
		}
		for _, gd := range sh.Data {
			if gd.StartRow == 0 {
				continue // the header
			}
			out = append(out, columnOf(gd))
		}
	}
	return out
}

// landedAt reports whether the keys read back are the sampled keys, in place.
func landedAt(checks []keyAt, got [][]any) bool {
	if len(got) != len(checks) {
		return false
	}
	for i, c := range checks {
		var v any
		if len(got[i]) > 0 {
			v = got[i][0]
		}
		if keyOf(v) != c.key {
			return false
		}
	}
	return true
}

// keyAt is a key expected at a grid row.
type keyAt struct {
	row int64
	key string
}

// sampleEvery is the spacing of the keys checked inside a run of appended rows.
const sampleEvery = 250

// sample picks the keys that tell whether appended rows are still where they landed: the first
// and last of each run and one every sampleEvery rows between. Reading every key back (5,000
// per batch) cost a quarter of a batch's time; a person's sort or inserted or deleted row
// moves the sampled rows too.
func sample(done []landed) []keyAt {
	var out []keyAt
	for _, d := range done {
		for i := 0; i < len(d.keys); i += sampleEvery {
			out = append(out, keyAt{d.at + int64(i), d.keys[i]})
		}
		if last := len(d.keys) - 1; last%sampleEvery != 0 {
			out = append(out, keyAt{d.at + int64(last), d.keys[last]})
		}
	}
	return out
}

// landed is a run of appended rows: where the first landed (grid row, from 0) and their keys.
type landed struct {
	at   int64
	keys []string
}

// valueChunks splits news into appends within one request's cell and byte budgets.
func (k *Sink) valueChunks(p *pending, news []string, ncols int) [][]string {
	var out [][]string
	start, cells, bytes := 0, 0, 0
	for i, key := range news {
		b := rawBytes(p.src[key])
		if i > start && (cells+ncols > k.maxCells || bytes+b > k.maxBytes) {
			out = append(out, news[start:i])
			start, cells, bytes = i, 0, 0
		}
		cells += ncols
		bytes += b
	}
	if start < len(news) {
		out = append(out, news[start:])
	}
	return out
}

// rawBytes is an upper estimate of a row's JSON size as values.
func rawBytes(r table.Row) int {
	n := 2
	for _, c := range r {
		n += 25
		if c.Kind == table.Text {
			n += jsonLen(c.S)
		}
	}
	return n
}

// rowFormats gives grid rows [from, to) the number formats a typed write gives its cells
// (cellFields): the date-time format in date-time columns, none elsewhere (a format the tab
// had there is cleared, as a typed write clears it). One request per run of columns alike.
func rowFormats(s table.Schema, id, from, to int64) []*sheets.Request {
	var reqs []*sheets.Request
	for c := 0; c < len(s.Columns); {
		date := s.Columns[c].Kind == table.DateTime
		end := c + 1
		for end < len(s.Columns) && (s.Columns[end].Kind == table.DateTime) == date {
			end++
		}
		cell := &sheets.CellData{}
		if date {
			cell.UserEnteredFormat = &sheets.CellFormat{NumberFormat: dateTimeFormat}
		}
		reqs = append(reqs, &sheets.Request{RepeatCell: &sheets.RepeatCellRequest{
			Range: &sheets.GridRange{SheetId: id, StartRowIndex: from, EndRowIndex: to, StartColumnIndex: int64(c), EndColumnIndex: int64(end)},
			Cell:  cell, Fields: "userEnteredFormat.numberFormat",
		}})
		c = end
	}
	return reqs
}

// widenScratch makes the scratch tab at least two columns wide, for keepMarker.
func widenScratch(w window) *sheets.Request {
	return &sheets.Request{UpdateSheetProperties: &sheets.UpdateSheetPropertiesRequest{
		Properties: &sheets.SheetProperties{SheetId: w.scratch, GridProperties: &sheets.GridProperties{ColumnCount: max(2, w.grids[w.scratch].cols)}},
		Fields:     "gridProperties.columnCount",
	}}
}

// a1Start matches the first cell of an A1 range after the tab name.
var a1Start = regexp.MustCompile(`!\$?[A-Za-z]+\$?([0-9]+)`)

// rangeStartRow returns the grid row (from 0) where an append's rows landed.
func rangeStartRow(u *sheets.UpdateValuesResponse) (int64, error) {
	if u == nil {
		return 0, fmt.Errorf("spreadsheets.values.append: no updates in the response")
	}
	m := a1Start.FindStringSubmatch(u.UpdatedRange)
	if m == nil {
		return 0, fmt.Errorf("spreadsheets.values.append: cannot read the updated range %q", u.UpdatedRange)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("spreadsheets.values.append: cannot read the updated range %q", u.UpdatedRange)
	}
	return n - 1, nil
}
