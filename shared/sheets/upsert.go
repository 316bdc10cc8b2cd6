package sheets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

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
// remove keys, position-safely (see safe.go): rows whose key exists are updated in place (every
// contract cell but the key), the rows to remove are deleted bottom-up, and new keys are
// appended. A batch costs three requests (protect, read the header and keys, write) when
// nothing moved; a payload over the cell or byte budget of one request takes one more write
// per request's worth, in the same window.
//
// Only the contract columns are written, so what a user keeps in columns to the right stays on
// the record's row; rows are removed by deleting them, so those columns move with them. Rows
// inside the data with a blank key are deleted too, so no blank rows remain, unless a person
// wrote in their columns right of the contract: such a row is theirs and is kept (values in its
// contract columns, a stray write's trace, are cleared).
//
// Duplicate keys in rows: the last one wins. Duplicate keys already in the sheet: the first row
// is updated and the later copies are deleted. A key both in rows and in remove is removed.
// Input rows without a key are skipped and counted. A header that no longer matches the
// contract is a *HeaderError and a write past the workbook's cell limit a *CellLimitError;
// nothing is written then.
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

// pending is what an Upsert still has to write, across rounds.
type pending struct {
	// want holds the records still to write: key -> the record's contract cells as typed
	// cells, nil until a typed write needs them (typed); src holds the rows (raw encodes them
	// for an append).
	want    map[string]*sheets.RowData
	src     map[string]table.Row
	enc     *encoder
	order   []string // want's keys in input order (new rows keep it)
	removed map[string]bool
	// restore holds contract cells (columns 1..n-1) to put back by key; reinsert whole rows
	// to append, by key (see outcome).
	restore  map[string]*sheets.RowData
	reinsert []*sheets.RowData
	// wide is set once a misplaced update landed on a row without a key.
	wide bool
	// maybeAppended holds records an append may have written (appendNew): found in the tab,
	// they are rewritten and counted as inserted.
	maybeAppended map[string]bool
}

// typed returns a record's contract cells as typed cells, encoding them once.
func (p *pending) typed(key string) *sheets.RowData {
	rd := p.want[key]
	if rd == nil {
		rd = p.enc.row(p.src[key])
		p.want[key] = rd
	}
	return rd
}

// raw returns a record's contract cells as values (RAW).
func (p *pending) raw(key string) []any { return p.enc.raw(p.src[key]) }

// source says where a planned op comes from, to account for it once it is verified.
type source struct {
	key     string
	restore bool // a repair, not an input row
}

func (k *Sink) upsert(ctx context.Context, s table.Schema, id int64, rows []table.Row, remove []string) (Result, error) {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	var res Result
	enc := newEncoder(s)
	p := pending{want: map[string]*sheets.RowData{}, removed: map[string]bool{}, restore: map[string]*sheets.RowData{},
		maybeAppended: map[string]bool{}, src: map[string]table.Row{}, enc: enc}
	for _, key := range remove {
		p.removed[key] = true
	}
	// The last row of each key wins; new keys keep their first position.
	for _, r := range rows {
		key := r.Key()
		if key == "" {
			res.Skipped++
			continue
		}
		if p.removed[key] {
			continue
		}
		if _, seen := p.want[key]; !seen {
			p.order = append(p.order, key)
		} else {
			res.Truncated -= enc.truncations(p.src[key]) // the last row of a key wins
		}
		p.want[key], p.src[key] = nil, r
		res.Truncated += enc.truncations(r)
	}
	if res.Truncated > 0 || res.Skipped > 0 {
		k.log.WarnContext(ctx, "sheets: upsert warnings", "tab", s.Tab, "truncated_texts", res.Truncated, "rows_without_key", res.Skipped)
	}
	// The layout kept from the last batch (layout.go) is taken out, and put back only when
	// this call ends cleanly: any error leaves the next batch to read the key column.
	lay := k.layouts[s.Tab]
	delete(k.layouts, s.Tab)
	if lay != nil && k.now().Sub(lay.taken) >= layoutMaxAge {
		lay = nil
	}
	for round := 0; ; round++ {
		if round == maxRounds {
			return res, fmt.Errorf("the tab kept changing while it was written: %d rows still to write after %d rounds (retry later)",
				len(p.want)+len(p.restore)+len(p.reinsert), maxRounds)
		}
		w, err := k.open(ctx, s, id)
		if err != nil {
			return res, err
		}
		var pr probe
		if lay != nil {
			var ok bool
			if pr, ok = probeFor(s.Tab, lay, append(slices.Clone(p.order), remove...), w.tab.rows, len(s.Columns)); !ok {
				lay = nil
			}
		}
		var keys []string
		keyless := map[int64]keylessRow{}
		torn := false
		checked := lay != nil // the kept layout is checked: plan from its index
		abort := func(err error) (Result, error) { k.close(ctx, w); return res, err }
		if lay != nil {
			header, marker, got, err := k.readProbe(ctx, s, pr)
			if err == nil {
				err = checkHeader(s, header)
			}
			if err != nil {
				return abort(err)
			}
			if why := lay.check(k.marker, marker, pr, got); why != nil {
				k.log.InfoContext(ctx, "sheets: the tab changed since the last batch; reading the key column", "tab", s.Tab, "reason", why.Error())
				lay, checked = nil, false
			} else {
				keys = lay.keys // blank rows and duplicates stay until the next full read
				for _, key := range unchanged(pr, got, &p) {
					delete(p.want, key)
					res.Updated++ // as current as an update makes it
				}
			}
		}
		if lay == nil {
			var header []any
			header, keys, err = k.readKeys(ctx, s, w, p.wide)
			if err == nil {
				err = checkHeader(s, header)
			}
			if err == nil {
				keyless, torn, err = k.keylessRows(ctx, s, w, blanks(keys))
			}
			if err != nil {
				return abort(err)
			}
			lay = newLayout(keys, k.now())
		}
		// Write in chunks within one request's budget. A chunk without deletions leaves every
		// position as it was, so the next chunk goes out in the same window, without
		// protecting and reading again. New records are appended last (appendNew), and the
		// request that ends the window removes the protection. A chunk that found rows moved,
		// or deleted rows, ends the round.
		added := 0
		moved := false
		// keep keeps the layout for the next batch, unless rows moved in ways it did not follow.
		keep := func() {
			if !moved && k.marker != "" {
				k.layouts[s.Tab] = lay
			}
		}
		// finish appends the new records and ends the window; done reports the call complete.
		finish := func(news []string) (done bool, err error) {
			ok, err := k.appendNew(ctx, s, id, &w, lay, &p, &res, news)
			if err != nil || !ok {
				return false, err // !ok: the append may have landed: read again, write what is missing
			}
			if len(p.want)+len(p.restore)+len(p.reinsert) > 0 {
				return false, nil
			}
			keep()
			return true, nil
		}
		for {
			var known *layout
			if checked {
				known = lay
			}
			o, ups, adds, removals, news, complete := k.plan(s, p, keys, keyless, known)
			if o.empty() {
				if len(news) > 0 && !torn {
					if done, err := finish(news); done || err != nil {
						return res, err
					}
					break
				}
				k.close(ctx, w)
				if torn {
					break // rows are moving: read again to tidy up
				}
				keep()
				return res, nil
			}
			// Deletions move rows: the chunk that has them is the round's last positional write.
			// New records still go out in the same window (an append needs no position).
			deletes := len(o.deletes) > 0
			appendAfter := complete && len(news) > 0 && !torn
			last := complete && len(news) == 0 || deletes && !appendAfter
			out, err := k.write(ctx, s, id, &w, o, int64(len(keys)+added), last)
			if err != nil {
				return res, err
			}
			if !out.applied {
				if out.refused != nil && round >= maxRounds-2 {
					return res, out.refused
				}
				break
			}
			res.account(&p, out, ups, adds, removals)
			clean := !slices.Contains(out.okDelete, false) && !slices.Contains(out.okUpdate, false)
			moved = moved || !clean || deletes || len(o.appends) > 0
			if !clean {
				break
			}
			if appendAfter {
				// The positional writes are done (the keys read may be stale after deletions,
				// so nothing is planned from them again): append the new records.
				if done, err := finish(news); done || err != nil {
					return res, err
				}
				break
			}
			if complete {
				if !torn && len(p.want)+len(p.restore)+len(p.reinsert) == 0 {
					keep()
					return res, nil
				}
				break
			}
			if deletes {
				break
			}
			added += len(o.appends)
		}
		lay = nil
	}
}

// account records what a verified write did: the ops that landed are done (and counted), the
// repairs it found are pending.
func (res *Result) account(p *pending, out outcome, ups, adds []source, removals []bool) {
	for i, ok := range out.okUpdate {
		if !ok {
			continue
		}
		if src := ups[i]; src.restore {
			delete(p.restore, src.key)
		} else {
			delete(p.want, src.key)
			if p.maybeAppended[src.key] {
				res.Inserted++
			} else {
				res.Updated++
			}
		}
	}
	for i, ok := range out.okDelete {
		if ok && removals[i] {
			res.Deleted++
		}
	}
	for _, src := range adds {
		if src.restore {
			continue
		}
		delete(p.want, src.key)
		res.Inserted++
	}
	if len(adds) > 0 {
		p.reinsert = slices.DeleteFunc(p.reinsert, func(rd *sheets.RowData) bool {
			return slices.ContainsFunc(adds, func(a source) bool { return a.restore && a.key == rowKey(rd) })
		})
	}
	p.wide = p.wide || out.blankHit
	for key, rd := range out.restore {
		if _, ok := p.want[key]; !ok && !p.removed[key] {
			p.restore[key] = rd
		}
	}
	for _, rd := range out.reinsert {
		if p.removed[rowKey(rd)] {
			res.Deleted++ // a misplaced delete removed a record that was to be removed
			continue
		}
		p.reinsert = append(p.reinsert, rd)
	}
}

// readKeys reads the header and the key column; keys[i] is the key of grid row i+1. With wide
// it reads the second column too, so rows with contract values but a blank key below the last
// key (a misplaced update's trace) are found as blank rows, and deleted.
func (k *Sink) readKeys(ctx context.Context, s table.Schema, w window, wide bool) (header []any, keys []string, err error) {
	cols := []int{0}
	if wide && len(s.Columns) > 1 {
		cols = append(cols, 1)
	}
	header, _, err = k.scan(ctx, s.Tab, cols, w.tab.rows, func(i int, vals []any) {
		keys = append(keys, keyOf(vals[0]))
	})
	return header, keys, err
}

// keylessRow says what a row without a key holds besides: cells in a person's columns (then
// the row is a person's and is kept), values in contract columns (a stray write's trace).
type keylessRow struct{ user, contract bool }

// blanks lists the grid rows whose key is blank.
func blanks(keys []string) []int64 {
	var out []int64
	for i, key := range keys {
		if key == "" {
			out = append(out, int64(i+1))
		}
	}
	return out
}

// keylessRows reads the rows without a key whole, to tell a person's rows (cells in columns
// right of the contract) from blank ones, which are deleted. It costs a read only when the
// tab has keyless rows inside the data and columns beyond the contract.
//
// torn says rows moved between the scan and this read: then every keyless row is kept this
// round, and the caller reads again.
func (k *Sink) keylessRows(ctx context.Context, s table.Schema, w window, rows []int64) (out map[int64]keylessRow, torn bool, err error) {
	out = map[int64]keylessRow{}
	ncols := int64(len(s.Columns))
	if len(rows) == 0 || w.tab.cols <= ncols {
		return out, false, nil
	}
	last := colName(int(w.tab.cols) - 1)
	var ranges []string
	block := len(rows) > 500 // one block from the first to the last, rather than 500 ranges
	if block {
		ranges = []string{fmt.Sprintf("%s!A%d:%s%d", quoteTab(s.Tab), rows[0]+1, last, rows[len(rows)-1]+1)}
	} else {
		for _, r := range rows {
			ranges = append(ranges, fmt.Sprintf("%s!A%d:%s%d", quoteTab(s.Tab), r+1, last, r+1))
		}
	}
	vrs, err := k.batchGet(ctx, "keyless rows", "ROWS", ranges)
	if err != nil {
		return nil, false, err
	}
	note := func(idx int64, vals []any) {
		var kr keylessRow
		for c, v := range vals {
			if v == nil || v == "" {
				continue
			}
			switch {
			case c == 0:
				torn = true // rows moved since the scan: this is not the keyless row
			case int64(c) >= ncols:
				kr.user = true
			default:
				kr.contract = true
			}
		}
		out[idx] = kr
	}
	isKeyless := make(map[int64]bool, len(rows))
	for _, r := range rows {
		isKeyless[r] = true
	}
	for i, vr := range vrs {
		if block {
			for j, vals := range vr.Values {
				if idx := rows[0] + int64(j); isKeyless[idx] {
					note(idx, vals)
				}
			}
			break
		}
		if i < len(rows) && len(vr.Values) > 0 {
			note(rows[i], vr.Values[0])
		}
	}
	if torn {
		// Decide nothing from a read that does not match the scan: keep every keyless row
		// this round (they are tidied up at a later read).
		for _, r := range rows {
			out[r] = keylessRow{user: true}
		}
	}
	return out, torn, nil
}

// checkHeader verifies a tab's header against the contract.
func checkHeader(s table.Schema, header []any) error {
	from, diff := compareHeader(s, header)
	for i := from; i < len(s.Columns); i++ {
		diff = append(diff, fmt.Sprintf("column %s is blank, want %q", colName(i), s.Columns[i].Name))
	}
	if len(diff) > 0 {
		return &HeaderError{Tab: s.Tab, Problems: diff}
	}
	return nil
}

// rowKey is the key of a RowData (its first cell).
func rowKey(rd *sheets.RowData) string {
	if rd == nil || len(rd.Values) == 0 || rd.Values[0] == nil {
		return ""
	}
	return keyOf(extValue(rd.Values[0].UserEnteredValue))
}

// plan computes one write's ops from the keys read, within one request's cell and byte
// budgets: updates, then appends, then deletions (so a write cut short by the budget has none,
// and leaves the positions as they were). It returns, parallel to the updates and the
// appends, where each comes from, for each deletion whether it removes a key of remove, and
// whether the ops are all there is to do.
//
// With known (a checked layout, whose keys are keys) it takes the rows from its index instead of
// scanning every key: its cost then follows the batch, not the tab. Blank rows and duplicates
// are left for the next full read then.
func (k *Sink) plan(s table.Schema, p pending, keys []string, keyless map[int64]keylessRow, known *layout) (o ops, ups, adds []source, removals []bool, news []string, complete bool) {
	cells, bytes := 0, 0
	fits := func(c, b int) bool {
		if len(ups)+len(o.deletes)+len(adds) > 0 && (cells+c > k.maxCells || bytes+b > k.maxBytes) {
			return false
		}
		cells, bytes = cells+c, bytes+b
		return true
	}
	var dels []deletion
	var isRemoval []bool
	var clears []int64
	var where map[string]int64
	if known != nil {
		where = known.where
		for key := range p.removed {
			if idx, ok := where[key]; ok {
				dels, isRemoval = append(dels, deletion{idx, key}), append(isRemoval, true)
			}
		}
		slices.SortFunc(dels, func(a, b deletion) int { return int(a.idx - b.idx) })
		keys = nil // nothing to scan
	} else {
		where = make(map[string]int64, len(keys))
	}
	for i, key := range keys {
		idx := int64(i + 1)
		if key == "" {
			switch kr := keyless[idx]; {
			case kr.user && kr.contract:
				clears = append(clears, idx) // a person's row: keep it, without stray values
			case kr.user:
			default:
				dels, isRemoval = append(dels, deletion{idx, ""}), append(isRemoval, false)
			}
			continue
		}
		if _, dup := where[key]; dup {
			dels, isRemoval = append(dels, deletion{idx, key}), append(isRemoval, false)
			continue
		}
		where[key] = idx
		if p.removed[key] {
			dels, isRemoval = append(dels, deletion{idx, key}), append(isRemoval, true)
		}
	}
	ncols := len(s.Columns)
	addUpdate := func(key string, rd *sheets.RowData, restore bool) bool {
		idx, ok := where[key]
		if !ok {
			return true
		}
		data := rd
		if !restore {
			data = &sheets.RowData{Values: rd.Values[1:]}
		}
		if !fits(ncols-1, estimateBytes(data)+300) {
			return false
		}
		o.updates = append(o.updates, update{idx: idx, key: key, data: data})
		ups = append(ups, source{key: key, restore: restore})
		return true
	}
	for _, key := range p.order {
		if _, ok := p.want[key]; ok && !addUpdate(key, p.typed(key), false) {
			return o, ups, adds, removals, nil, false
		}
	}
	for _, key := range slices.Sorted(maps.Keys(p.restore)) {
		if !addUpdate(key, p.restore[key], true) {
			return o, ups, adds, removals, nil, false
		}
	}
	for _, idx := range clears {
		data := &sheets.RowData{Values: make([]*sheets.CellData, ncols-1)}
		for i := range data.Values {
			data.Values[i] = &sheets.CellData{}
		}
		if !fits(ncols-1, estimateBytes(data)+300) {
			return o, ups, adds, removals, nil, false
		}
		o.updates = append(o.updates, update{idx: idx, key: "", data: data})
		ups = append(ups, source{restore: true})
	}
	reinserting := map[string]bool{}
	for _, rd := range p.reinsert {
		key := rowKey(rd)
		reinserting[key] = true
		if p.removed[key] {
			continue
		}
		if !fits(len(rd.Values), estimateBytes(rd)) {
			return o, ups, adds, removals, nil, false
		}
		o.appends = append(o.appends, rd)
		adds = append(adds, source{key: key, restore: true})
	}
	for _, key := range p.order {
		if _, ok := p.want[key]; !ok || reinserting[key] {
			continue
		}
		if _, ok := where[key]; !ok {
			news = append(news, key)
		}
	}
	for i, d := range dels {
		if !fits(0, 300) {
			return o, ups, adds, removals, news, false
		}
		o.deletes = append(o.deletes, d)
		removals = append(removals, isRemoval[i])
	}
	return o, ups, adds, removals, news, true
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

// PruneRow is what Prune reads of a data row: its key and its date (the schema's DateColumn,
// a wall-clock time in the Sink's location; zero when the cell is empty, not a date, or the
// schema has no date column).
type PruneRow struct {
	Key  string
	Date time.Time
}

// PrunePolicy says which rows Prune removes.
type PrunePolicy struct {
	// Expired rows are past the retention window: always removed.
	Expired func(PruneRow) bool
	// Unseen rows are records a full run did not see (nil for none): removed unless Hold
	// holds them.
	Unseen func(PruneRow) bool
	// Hold decides, from how many rows are unseen (and not expired) and how many keyed rows
	// the tab has, whether to keep every unseen row (the mass-deletion guard); nil removes them.
	Hold func(unseen, rows int) bool
}

// PruneResult counts what Prune did.
type PruneResult struct {
	// Rows is how many keyed rows the tab had.
	Rows int
	// Expired and Unseen count the rows removed for each reason; Held counts the unseen rows
	// kept because Hold held them.
	Expired, Unseen, Held int
}

// Deleted is how many keyed rows Prune removed.
func (r PruneResult) Deleted() int { return r.Expired + r.Unseen }

// Prune deletes the data rows the policy removes, and every blank row (a row without a key
// but with a person's cells right of the contract is kept), position-
// safely (see safe.go). It reads only the key and date columns, in pages (about 40 bytes a row
// held while it decides), so a tab of 400,000 rows is pruned in little memory. Deletions over one
// request's budget take more rounds. It is used for the retention window and, after a full run,
// to remove records the source no longer has.
func (k *Sink) Prune(ctx context.Context, s table.Schema, pol PrunePolicy) (PruneResult, error) {
	var res PruneResult
	err := k.onTab(ctx, s, func(id int64) error {
		var err error
		res, err = k.prune(ctx, s, id, pol)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("sheets: prune %s: %w", s.Tab, err)
	}
	return res, nil
}

func (k *Sink) prune(ctx context.Context, s table.Schema, id int64, pol PrunePolicy) (PruneResult, error) {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	var res PruneResult
	cols := []int{0}
	if s.DateColumn > 0 {
		cols = append(cols, s.DateColumn)
	}
	held := false
	var reinsert []*sheets.RowData
	delete(k.layouts, s.Tab) // rows move: the next batch reads the key column
	for round := 0; ; round++ {
		if round == maxRounds {
			return res, fmt.Errorf("the tab kept changing while rows were deleted (retry later)")
		}
		w, err := k.open(ctx, s, id)
		if err != nil {
			return res, err
		}
		// Decide per row as it is read: keep only the deletions (and counts), not the rows.
		const (
			blank = iota
			expired
			unseen
		)
		var dels []deletion
		var why []int
		rows, nunseen := 0, 0
		header, n, err := k.scan(ctx, s.Tab, cols, w.tab.rows, func(i int, vals []any) {
			key := keyOf(vals[0])
			if key == "" {
				dels, why = append(dels, deletion{int64(i + 1), ""}), append(why, blank)
				return
			}
			rows++
			r := PruneRow{Key: key}
			if len(vals) > 1 {
				if c := DecodeCell(vals[1], table.DateTime, k.loc); c.Kind == table.DateTime {
					r.Date = c.T
				}
			}
			switch {
			case pol.Expired != nil && pol.Expired(r):
				dels, why = append(dels, deletion{int64(i + 1), key}), append(why, expired)
			case pol.Unseen != nil && pol.Unseen(r):
				nunseen++
				dels, why = append(dels, deletion{int64(i + 1), key}), append(why, unseen)
			}
		})
		if err != nil {
			k.close(ctx, w)
			return res, err
		}
		if err := checkHeader(s, header); err != nil {
			k.close(ctx, w)
			return res, err
		}
		var blankRows []int64
		for i, d := range dels {
			if why[i] == blank {
				blankRows = append(blankRows, d.idx)
			}
		}
		keyless, torn, err := k.keylessRows(ctx, s, w, blankRows)
		if err != nil {
			k.close(ctx, w)
			return res, err
		}
		if round == 0 {
			res.Rows = rows
			held = nunseen > 0 && pol.Hold != nil && pol.Hold(nunseen, rows)
			if held {
				res.Held = nunseen
			}
		}
		var o ops
		var reasons []int
		bytes, complete := 0, true
		for _, rd := range reinsert {
			o.appends = append(o.appends, rd)
			bytes += estimateBytes(rd)
		}
		for i, d := range dels {
			if held && why[i] == unseen || why[i] == blank && keyless[d.idx].user {
				continue // held, or a person's row without a key
			}
			if bytes += 300; bytes > k.maxBytes || len(o.deletes)*int(max(w.tab.cols, 1)) >= k.maxCells*4 {
				complete = false
				break
			}
			o.deletes = append(o.deletes, d)
			reasons = append(reasons, why[i])
		}
		if o.empty() {
			k.close(ctx, w)
			if torn {
				continue // rows are moving: read again to tidy up
			}
			return res, nil
		}
		out, err := k.write(ctx, s, id, &w, o, int64(n), true)
		if err != nil {
			return res, err
		}
		if !out.applied {
			if out.refused != nil && round >= maxRounds-2 {
				return res, out.refused
			}
			continue
		}
		// Put back the rows a misplaced delete removed, unless the policy removes them anyway.
		reinsert = reinsert[:0]
		for _, rd := range out.reinsert {
			r := PruneRow{Key: rowKey(rd)}
			if s.DateColumn > 0 && s.DateColumn < len(rd.Values) && rd.Values[s.DateColumn] != nil {
				if c := DecodeCell(extValue(rd.Values[s.DateColumn].UserEnteredValue), table.DateTime, k.loc); c.Kind == table.DateTime {
					r.Date = c.T
				}
			}
			switch {
			case r.Key == "":
				reinsert = append(reinsert, rd)
			case pol.Expired != nil && pol.Expired(r):
				res.Expired++
			case pol.Unseen != nil && !held && pol.Unseen(r):
				res.Unseen++
			default:
				reinsert = append(reinsert, rd)
			}
		}
		for i, ok := range out.okDelete {
			switch {
			case !ok:
			case reasons[i] == expired:
				res.Expired++
			case reasons[i] == unseen:
				res.Unseen++
			}
		}
		// Restores cannot arise (Prune updates nothing); the next round recomputes the rest.
		if complete && !torn && len(reinsert) == 0 && !slices.Contains(out.okDelete, false) {
			return res, nil
		}
	}
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

// HasKey reports whether a data row of the schema's tab has key in its key column. It reads that
// column only (the Sync_Log check before a run's row is appended reads one column, not the whole
// log).
func (k *Sink) HasKey(ctx context.Context, s table.Schema, key string) (bool, error) {
	found := false
	err := k.onTab(ctx, s, func(int64) error {
		vr, err := k.readRange(ctx, quoteTab(s.Tab)+"!A2:A")
		if err != nil {
			return err
		}
		for _, r := range vr.Values {
			if len(r) > 0 && keyOf(r[0]) == key {
				found = true
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("sheets: keys of %s: %w", s.Tab, err)
	}
	return found, nil
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
				r[j] = DecodeCell(vals[j], s.Columns[j].Kind, k.loc)
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

// flushWith sends the batches in order, one batchUpdate each, retrying the errors retry accepts
// (Append passes unapplied).
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
