package sheets

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/table"
)

// Result counts what an Upsert did.
type Result struct {
	Inserted, Updated, Deleted int
	// Truncated counts texts cut to MaxCellChars; Skipped counts input rows without a key.
	Truncated, Skipped int
}

// Upsert writes rows to the schema's tab by key (the first column) and deletes the rows of the
// remove keys. It reads the key column once and writes everything in one batchUpdate (several,
// in order, only when the payload exceeds the cell or byte budget): rows whose key exists are
// updated in place, the rows to remove are deleted bottom-up, and new keys are appended.
//
// Only the contract columns are written, so what a user keeps in columns to the right stays on
// the record's row; rows are removed by deleting them, so those columns move with them. Rows
// inside the data with a blank key are deleted too, so no blank rows remain.
//
// Duplicate keys in rows: the last one wins. Duplicate keys already in the sheet: the first row
// is updated and the later copies are deleted. A key both in rows and in remove is removed.
// Input rows without a key are skipped and counted.
func (k *Sink) Upsert(ctx context.Context, s table.Schema, rows []table.Row, remove []string) (Result, error) {
	var res Result
	err := k.onTab(ctx, s, func(id int64) error {
		var err error
		res, err = k.upsert(ctx, s, id, rows, remove)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("sheets: upsert %s: %w", s.Tab, err)
	}
	return res, nil
}

func (k *Sink) upsert(ctx context.Context, s table.Schema, id int64, rows []table.Row, remove []string) (Result, error) {
	var res Result
	keys, err := k.readColumn(ctx, s.Tab, "A")
	if err != nil {
		return res, err
	}

	// Where each key is in the sheet (grid row index; row 0 is the header), and what to delete.
	where := make(map[string]int64, len(keys))
	var del []int64
	for i, v := range keys {
		idx := int64(i + 1)
		key := keyOf(v)
		if key == "" {
			del = append(del, idx)
			continue
		}
		if _, dup := where[key]; dup {
			del = append(del, idx)
			continue
		}
		where[key] = idx
	}
	removed := make(map[string]bool, len(remove))
	for _, key := range remove {
		if removed[key] {
			continue
		}
		removed[key] = true
		if idx, ok := where[key]; ok {
			del = append(del, idx)
			res.Deleted++
		}
	}

	// The last row of each key wins; new keys keep their first position.
	last := make(map[string]int, len(rows))
	var order []string
	for i, r := range rows {
		key := r.Key()
		if key == "" {
			res.Skipped++
			continue
		}
		if _, seen := last[key]; !seen {
			order = append(order, key)
		}
		last[key] = i
	}
	type upd struct {
		idx int64
		row table.Row
	}
	var updates []upd
	var inserts []table.Row
	for _, key := range order {
		if removed[key] {
			continue
		}
		r := rows[last[key]]
		if idx, ok := where[key]; ok {
			updates = append(updates, upd{idx, r})
		} else {
			inserts = append(inserts, r)
		}
	}
	slices.SortFunc(updates, func(a, b upd) int { return int(a.idx - b.idx) })

	enc := newEncoder(s)
	w := k.newWriter(len(s.Columns))
	ncols := int64(len(s.Columns))
	for i := 0; i < len(updates); {
		j := i + 1
		for j < len(updates) && updates[j].idx == updates[j-1].idx+1 {
			j++
		}
		data := make([]*sheets.RowData, j-i)
		for n, u := range updates[i:j] {
			data[n] = enc.row(u.row)
		}
		start := updates[i].idx
		w.rows(data, func(off int, part []*sheets.RowData) *sheets.Request {
			return &sheets.Request{UpdateCells: &sheets.UpdateCellsRequest{
				Range: &sheets.GridRange{SheetId: id, StartRowIndex: start + int64(off), EndRowIndex: start + int64(off+len(part)),
					StartColumnIndex: 0, EndColumnIndex: ncols},
				Rows: part, Fields: cellFields,
			}}
		})
		i = j
	}
	for _, r := range deleteRequests(id, del, int64(len(keys))) {
		w.add(r, 0, 0)
	}
	appendRows(w, enc, id, inserts)
	res.Updated, res.Inserted, res.Truncated = len(updates), len(inserts), enc.truncated
	if res.Truncated > 0 || res.Skipped > 0 {
		k.log.WarnContext(ctx, "sheets: upsert warnings", "tab", s.Tab, "truncated_texts", res.Truncated, "rows_without_key", res.Skipped)
	}
	return res, k.flush(ctx, w)
}

// appendRows adds AppendCells requests for rows.
func appendRows(w *writer, enc *encoder, id int64, rows []table.Row) {
	if len(rows) == 0 {
		return
	}
	data := make([]*sheets.RowData, len(rows))
	for i, r := range rows {
		data[i] = enc.row(r)
	}
	w.rows(data, func(_ int, part []*sheets.RowData) *sheets.Request {
		return &sheets.Request{AppendCells: &sheets.AppendCellsRequest{SheetId: id, Rows: part, Fields: cellFields}}
	})
}

// deleteRequests deletes the rows at the given grid indexes, merging contiguous runs, bottom-up;
// dataRows is how many rows the data has below the header.
func deleteRequests(id int64, idx []int64, dataRows int64) []*sheets.Request {
	if len(idx) == 0 {
		return nil
	}
	idx = slices.Clone(idx)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	var reqs []*sheets.Request
	if int64(len(idx)) == dataRows {
		// The API refuses to delete every non-frozen row: keep one blank row at the end.
		reqs = append(reqs, &sheets.Request{AppendDimension: &sheets.AppendDimensionRequest{SheetId: id, Dimension: "ROWS", Length: 1}})
	}
	for j := len(idx); j > 0; {
		i := j - 1
		for i > 0 && idx[i-1] == idx[i]-1 {
			i--
		}
		reqs = append(reqs, &sheets.Request{DeleteDimension: &sheets.DeleteDimensionRequest{Range: &sheets.DimensionRange{
			SheetId: id, Dimension: "ROWS", StartIndex: idx[i], EndIndex: idx[j-1] + 1,
		}}})
		j = i
	}
	return reqs
}

// Prune deletes every data row of the schema's tab for which keep returns false, and every row
// with a blank key, in one write (merging contiguous rows, bottom-up). It reads all contract
// columns once; the rows keep sees are decoded like Rows. It is used for the retention window
// and, after a full run, to remove records the source no longer has.
func (k *Sink) Prune(ctx context.Context, s table.Schema, keep func(table.Row) bool) (int, error) {
	deleted := 0
	err := k.onTab(ctx, s, func(id int64) error {
		deleted = 0
		rows, err := k.readRows(ctx, s)
		if err != nil {
			return err
		}
		var del []int64
		for i, r := range rows {
			if r.Key() == "" || !keep(r) {
				del = append(del, int64(i+1))
				if r.Key() != "" {
					deleted++
				}
			}
		}
		w := k.newWriter(len(s.Columns))
		for _, r := range deleteRequests(id, del, int64(len(rows))) {
			w.add(r, 0, 0)
		}
		return k.flush(ctx, w)
	})
	if err != nil {
		return 0, fmt.Errorf("sheets: prune %s: %w", s.Tab, err)
	}
	return deleted, nil
}

// Append adds rows after the last row of the schema's tab (the Sync_Log), in one write. It
// retries only a quota refusal (429): after a 5xx or a broken connection the write may have
// landed, so it returns the error and the caller checks before appending again (process
// looks for the run's row first), rather than risking the same row twice.
func (k *Sink) Append(ctx context.Context, s table.Schema, rows []table.Row) error {
	if len(rows) == 0 {
		return nil
	}
	err := k.onTab(ctx, s, func(id int64) error {
		enc := newEncoder(s)
		w := k.newWriter(len(s.Columns))
		appendRows(w, enc, id, rows)
		if enc.truncated > 0 {
			k.log.WarnContext(ctx, "sheets: append truncated texts", "tab", s.Tab, "truncated_texts", enc.truncated)
		}
		return k.flushWith(ctx, w, unapplied)
	})
	if err != nil {
		return fmt.Errorf("sheets: append %s: %w", s.Tab, err)
	}
	return nil
}

// Rows reads the schema's tab back: every data row below the header, as many cells as the
// contract has columns, decoded by column kind (date-time serials become wall-clock times in the
// Sink's location). Rows of a blank sheet region inside the data come back as empty rows.
func (k *Sink) Rows(ctx context.Context, s table.Schema) ([]table.Row, error) {
	var rows []table.Row
	err := k.onTab(ctx, s, func(int64) error {
		var err error
		rows, err = k.readRows(ctx, s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sheets: rows %s: %w", s.Tab, err)
	}
	return rows, nil
}

// readColumn reads one column below the header, unformatted, in one request.
func (k *Sink) readColumn(ctx context.Context, tab, col string) ([]any, error) {
	vr, err := k.readRange(ctx, fmt.Sprintf("%s!%s2:%s", quoteTab(tab), col, col))
	if err != nil {
		return nil, err
	}
	out := make([]any, len(vr.Values))
	for i, r := range vr.Values {
		if len(r) > 0 {
			out[i] = r[0]
		}
	}
	return out, nil
}

// readRows reads and decodes the contract columns below the header, in one request.
func (k *Sink) readRows(ctx context.Context, s table.Schema) ([]table.Row, error) {
	last := colName(len(s.Columns) - 1)
	vr, err := k.readRange(ctx, fmt.Sprintf("%s!A2:%s", quoteTab(s.Tab), last))
	if err != nil {
		return nil, err
	}
	rows := make([]table.Row, len(vr.Values))
	for i, vals := range vr.Values {
		r := make(table.Row, len(s.Columns))
		for j := range r {
			if j < len(vals) {
				r[j] = decode(vals[j], s.Columns[j].Kind, k.loc)
			}
		}
		rows[i] = r
	}
	return rows, nil
}

func (k *Sink) readRange(ctx context.Context, rng string) (*sheets.ValueRange, error) {
	var vr *sheets.ValueRange
	err := k.call(ctx, false, "spreadsheets.values.get", func() (err error) {
		vr, err = k.svc.Spreadsheets.Values.Get(k.id, rng).
			ValueRenderOption("UNFORMATTED_VALUE").DateTimeRenderOption("SERIAL_NUMBER").
			MajorDimension("ROWS").Context(ctx).Do()
		return err
	})
	return vr, err
}

// writer packs sub-requests into batchUpdate bodies within the cell and byte budgets, in order.
type writer struct {
	maxCells, maxBytes, ncols int
	batches                   [][]*sheets.Request
	cells, bytes              int
}

func (k *Sink) newWriter(ncols int) *writer {
	return &writer{maxCells: k.maxCells, maxBytes: k.maxBytes, ncols: max(ncols, 1)}
}

// add appends one sub-request of the given weight, starting a new batch when it would not fit.
func (w *writer) add(r *sheets.Request, cells, bytes int) {
	if w.full(cells, bytes) {
		w.next()
	}
	if len(w.batches) == 0 {
		w.next()
	}
	w.batches[len(w.batches)-1] = append(w.batches[len(w.batches)-1], r)
	w.cells += cells
	w.bytes += bytes + 200
}

// full reports whether the current batch is not empty and cannot take that much more.
func (w *writer) full(cells, bytes int) bool {
	return len(w.batches) > 0 && len(w.batches[len(w.batches)-1]) > 0 &&
		(w.cells+cells > w.maxCells || w.bytes+bytes+200 > w.maxBytes)
}

// next starts a new batch.
func (w *writer) next() {
	w.batches = append(w.batches, nil)
	w.cells, w.bytes = 0, 0
}

// rows adds a run of rows as one or more sub-requests built by mk (off is the offset of part in
// data), splitting the run where the current batch is full.
func (w *writer) rows(data []*sheets.RowData, mk func(off int, part []*sheets.RowData) *sheets.Request) {
	start, cells, bytes := 0, 0, 0
	for i, d := range data {
		b := estimateBytes(d)
		if w.cells+cells+w.ncols > w.maxCells || w.bytes+bytes+b+200 > w.maxBytes {
			if i > start {
				w.add(mk(start, data[start:i]), cells, bytes)
				w.next()
				start, cells, bytes = i, 0, 0
			} else if len(w.batches) > 0 && len(w.batches[len(w.batches)-1]) > 0 {
				w.next()
			}
		}
		cells += w.ncols
		bytes += b
	}
	if start < len(data) {
		w.add(mk(start, data[start:]), cells, bytes)
	}
}

// flush sends the batches in order, one batchUpdate each.
func (k *Sink) flush(ctx context.Context, w *writer) error {
	return k.flushWith(ctx, w, retryable)
}

// flushWith is flush with the retry decision given (Append passes unapplied).
func (k *Sink) flushWith(ctx context.Context, w *writer, retry func(error) bool) error {
	for _, reqs := range w.batches {
		if len(reqs) == 0 {
			continue
		}
		err := k.callRetrying(ctx, true, "spreadsheets.batchUpdate", retry, func() error {
			_, err := k.svc.Spreadsheets.BatchUpdate(k.id, &sheets.BatchUpdateSpreadsheetRequest{Requests: reqs}).
				Context(ctx).Do()
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
