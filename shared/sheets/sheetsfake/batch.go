package sheetsfake

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"google.golang.org/api/sheets/v4"
)

// txn applies a batch to a copy of a spreadsheet; tabs are copied on first touch: their
// properties alone (meta) when only those change, their cells too (sheet) otherwise.
type txn struct {
	b      *book
	copied map[*sheet]copyDepth
}

// copyDepth is how much of a tab a transaction has copied.
type copyDepth int

const (
	metaCopy copyDepth = iota + 1 // the properties; the cells are still shared
	fullCopy                      // the cells too
)

func begin(b *book) *txn {
	nb := *b
	nb.Sheets = append([]*sheet(nil), b.Sheets...)
	return &txn{b: &nb, copied: map[*sheet]copyDepth{}}
}

// sheet returns a writable copy of the tab with the given id, cells included.
func (t *txn) sheet(id int64, what string) (*sheet, *apiError) {
	i, s := t.b.byID(id)
	if s == nil {
		return nil, errorf(400, "Invalid %s: No grid with id: %d", what, id)
	}
	if t.copied[s] < fullCopy {
		s = s.clone()
		t.b.Sheets[i] = s
		t.copied[s] = fullCopy
	}
	return s, nil
}

// meta returns a copy of the tab whose properties (protected ranges) may change; its cells are
// shared with the committed tab and must not be written.
func (t *txn) meta(id int64, what string) (*sheet, *apiError) {
	i, s := t.b.byID(id)
	if s == nil {
		return nil, errorf(400, "Invalid %s: No grid with id: %d", what, id)
	}
	if t.copied[s] == 0 {
		c := *s
		c.Protected = append([]protection(nil), s.Protected...)
		s = &c
		t.b.Sheets[i] = s
		t.copied[s] = metaCopy
	}
	return s, nil
}

// read returns the tab with the given id as the transaction sees it, for reading only.
func (t *txn) read(id int64, what string) (*sheet, *apiError) {
	if _, s := t.b.byID(id); s != nil {
		return s, nil
	}
	return nil, errorf(400, "Invalid %s: No grid with id: %d", what, id)
}

func decodeBody(r *http.Request, v any) *apiError {
	// An empty body is the empty message, as the API reads it (Google's Node client sends
	// values.clear with none).
	if err := json.NewDecoder(r.Body).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return errorf(400, "Invalid JSON payload received. %v", err)
	}
	return nil
}

// mutate is every write: it decodes the request body into req, runs apply on a transaction
// over spreadsheet id, and commits it only if apply succeeds, so a request that fails
// anywhere changes nothing (the API's requests are atomic).
func (f *Fake) mutate(id string, r *http.Request, req any, apply func(t *txn) (any, *apiError)) (any, *apiError) {
	if e := decodeBody(r, req); e != nil {
		return nil, e
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, e := f.lookup(id)
	if e != nil {
		return nil, e
	}
	t := begin(b)
	out, e := apply(t)
	if e != nil {
		return nil, e
	}
	f.books[id] = t.b
	f.changed(id)
	return out, nil
}

func (f *Fake) batchUpdate(id string, r *http.Request) (any, *apiError) {
	var req sheets.BatchUpdateSpreadsheetRequest
	return f.mutate(id, r, &req, func(t *txn) (any, *apiError) {
		replies := make([]any, len(req.Requests))
		for i, sub := range req.Requests {
			rep, e := t.apply(i, sub)
			if e != nil {
				return nil, e
			}
			if rep == nil {
				rep = map[string]any{}
			}
			replies[i] = rep
		}
		out := map[string]any{"spreadsheetId": id, "replies": replies}
		if req.IncludeSpreadsheetInResponse {
			// The spreadsheet as it is right after the batch, limited to responseRanges.
			ss, e := spreadsheetJSON(t.b, req.ResponseRanges, req.ResponseIncludeGridData)
			if e != nil {
				return nil, e
			}
			out["updatedSpreadsheet"] = ss
		}
		return out, nil
	})
}

func (t *txn) apply(i int, r *sheets.Request) (any, *apiError) {
	if r == nil {
		return nil, errorf(400, "Invalid requests[%d]: empty request", i)
	}
	at := func(kind string) string { return "requests[" + itoa(int64(i)) + "]." + kind }
	switch {
	case r.AddSheet != nil:
		return t.addSheet(at("addSheet"), r.AddSheet)
	case r.DeleteSheet != nil:
		j, s := t.b.byID(r.DeleteSheet.SheetId)
		if s == nil {
			return nil, errorf(400, "Invalid %s: No sheet with id: %d", at("deleteSheet"), r.DeleteSheet.SheetId)
		}
		if len(t.b.Sheets) == 1 {
			return nil, errorf(400, "Invalid %s: You can't remove all the sheets in a document.", at("deleteSheet"))
		}
		t.b.Sheets = append(t.b.Sheets[:j:j], t.b.Sheets[j+1:]...)
	case r.UpdateSheetProperties != nil:
		return nil, t.updateSheetProperties(at("updateSheetProperties"), r.UpdateSheetProperties)
	case r.RepeatCell != nil:
		return nil, t.repeatCell(at("repeatCell"), r.RepeatCell)
	case r.UpdateCells != nil:
		return nil, t.updateCells(at("updateCells"), r.UpdateCells)
	case r.AppendCells != nil:
		return nil, t.appendCells(at("appendCells"), r.AppendCells)
	case r.DeleteDimension != nil:
		return nil, t.deleteDimension(at("deleteDimension"), r.DeleteDimension)
	case r.InsertDimension != nil:
		return nil, t.insertDimension(at("insertDimension"), r.InsertDimension)
	case r.AppendDimension != nil:
		a := r.AppendDimension
		s, e := t.sheet(a.SheetId, at("appendDimension"))
		if e != nil {
			return nil, e
		}
		if a.Length <= 0 {
			return nil, errorf(400, "Invalid %s: length must be positive", at("appendDimension"))
		}
		switch a.Dimension {
		case "ROWS":
			s.RowCount += a.Length
		case "COLUMNS":
			s.ColCount += a.Length
		default:
			return nil, errorf(400, "Invalid %s: dimension must be ROWS or COLUMNS", at("appendDimension"))
		}
	case r.AddProtectedRange != nil:
		return t.addProtectedRange(at("addProtectedRange"), r.AddProtectedRange)
	case r.DeleteProtectedRange != nil:
		return nil, t.deleteProtectedRange(at("deleteProtectedRange"), r.DeleteProtectedRange)
	case r.CopyPaste != nil:
		return nil, t.copyPaste(at("copyPaste"), r.CopyPaste)
	case r.UpdateDimensionProperties != nil:
		u := r.UpdateDimensionProperties
		if u.Range != nil {
			if _, e := t.sheet(u.Range.SheetId, at("updateDimensionProperties")); e != nil {
				return nil, e
			}
		}
	default:
		return nil, errorf(400, "Invalid requests[%d]: this kind of request is not supported by sheetsfake", i)
	}
	return nil, nil
}

func (t *txn) addSheet(at string, a *sheets.AddSheetRequest) (any, *apiError) {
	p := a.Properties
	if p == nil {
		p = &sheets.SheetProperties{}
	}
	title := p.Title
	if title == "" {
		title = "Sheet" + itoa(int64(len(t.b.Sheets)+1))
	}
	if _, s := t.b.byTitle(title); s != nil {
		return nil, errorf(400, "Invalid %s: A sheet with the name \"%s\" already exists. Please enter another name.", at, title)
	}
	id := p.SheetId
	if id == 0 {
		id = newSheetID(t.b)
	} else if _, s := t.b.byID(id); s != nil || id < 0 {
		return nil, errorf(400, "Invalid %s: Sheet with id %d already exists.", at, id)
	}
	s := &sheet{ID: id, Title: title, RowCount: 1000, ColCount: 26}
	if g := p.GridProperties; g != nil {
		if g.RowCount > 0 {
			s.RowCount = g.RowCount
		}
		if g.ColumnCount > 0 {
			s.ColCount = g.ColumnCount
		}
		s.Frozen = g.FrozenRowCount
	}
	s.Hidden = p.Hidden
	if s.Frozen >= s.RowCount {
		return nil, errorf(400, "Invalid %s: frozen rows must be fewer than the rows", at)
	}
	idx := len(t.b.Sheets)
	if p.Index > 0 && int(p.Index) < idx {
		idx = int(p.Index)
	}
	t.b.Sheets = append(t.b.Sheets[:idx:idx], append([]*sheet{s}, t.b.Sheets[idx:]...)...)
	t.copied[s] = fullCopy
	return map[string]any{"addSheet": map[string]any{"properties": props(s, idx)}}, nil
}

func (t *txn) updateSheetProperties(at string, u *sheets.UpdateSheetPropertiesRequest) *apiError {
	if u.Properties == nil || u.Fields == "" {
		return errorf(400, "Invalid %s: properties and fields are required", at)
	}
	s, e := t.sheet(u.Properties.SheetId, at)
	if e != nil {
		return e
	}
	g := u.Properties.GridProperties
	if g == nil {
		g = &sheets.GridProperties{}
	}
	for _, fld := range strings.Split(u.Fields, ",") {
		switch strings.TrimSpace(fld) {
		case "title":
			if u.Properties.Title == "" {
				return errorf(400, "Invalid %s: title must not be empty", at)
			}
			s.Title = u.Properties.Title
		case "gridProperties.frozenRowCount":
			s.Frozen = g.FrozenRowCount
		case "gridProperties.rowCount":
			s.RowCount = g.RowCount
		case "gridProperties.columnCount":
			s.ColCount = g.ColumnCount
		case "gridProperties":
			s.Frozen, s.RowCount, s.ColCount = g.FrozenRowCount, g.RowCount, g.ColumnCount
		case "hidden":
			s.Hidden = u.Properties.Hidden
		}
	}
	if s.RowCount < 1 || s.ColCount < 1 || s.Frozen >= s.RowCount {
		return errorf(400, "Invalid %s: bad grid properties", at)
	}
	s.shrink()
	return nil
}

// bounds resolves a GridRange on s: omitted ends mean the end of the grid.
func bounds(at string, g *sheets.GridRange, s *sheet) (r0, r1, c0, c1 int64, e *apiError) {
	r0, c0 = g.StartRowIndex, g.StartColumnIndex
	r1, c1 = g.EndRowIndex, g.EndColumnIndex
	if r1 == 0 {
		r1 = s.RowCount
	}
	if c1 == 0 {
		c1 = s.ColCount
	}
	if r0 < 0 || c0 < 0 || r0 > r1 || c0 > c1 {
		return 0, 0, 0, 0, errorf(400, "Invalid %s: bad range", at)
	}
	if r1 > s.RowCount || c1 > s.ColCount {
		return 0, 0, 0, 0, errorf(400, "Invalid %s: Range (%s!%s%d:%s%d) exceeds grid limits. Max rows: %d, max columns: %d",
			at, s.Title, colName(c0), r0+1, colName(c1-1), r1, s.RowCount, s.ColCount)
	}
	return r0, r1, c0, c1, nil
}

// mask is a parsed fields mask of CellData.
type mask struct{ value, numberFormat, bold bool }

func parseMask(at, fields string) (mask, *apiError) {
	var m mask
	if strings.TrimSpace(fields) == "" {
		return m, errorf(400, "Invalid %s: At least one field must be updated, but none were specified.", at)
	}
	for _, f := range strings.Split(fields, ",") {
		switch f = strings.TrimSpace(f); {
		case f == "*":
			m = mask{true, true, true}
		case f == "userEnteredValue":
			m.value = true
		case f == "userEnteredFormat":
			m.numberFormat, m.bold = true, true
		case f == "userEnteredFormat.numberFormat":
			m.numberFormat = true
		case f == "userEnteredFormat.textFormat", f == "userEnteredFormat.textFormat.bold":
			m.bold = true
		case strings.HasPrefix(f, "userEnteredFormat."), f == "note", f == "dataValidation", f == "textFormatRuns", f == "hyperlink":
			// formats the fake does not keep
		default:
			return m, errorf(400, "Invalid %s: fields mask %q names an unknown field", at, f)
		}
	}
	return m, nil
}

// put applies cd to the cell at (r, c) under the mask; a nil cd clears the masked fields.
func put(s *sheet, r, c int64, cd *sheets.CellData, m mask) *apiError {
	if cd == nil {
		cd = &sheets.CellData{}
	}
	// Skip storage for cells that stay empty.
	if r >= int64(len(s.Rows)) || c >= int64(len(s.Rows[r])) {
		if cd.UserEnteredValue == nil && (cd.UserEnteredFormat == nil || (!m.numberFormat || cd.UserEnteredFormat.NumberFormat == nil) &&
			(!m.bold || cd.UserEnteredFormat.TextFormat == nil || !cd.UserEnteredFormat.TextFormat.Bold)) {
			return nil
		}
	}
	cell := s.cell(r, c)
	if m.value {
		v, formula, e := extValue(cd.UserEnteredValue)
		if e != nil {
			return e
		}
		cell.Value, cell.Formula = v, formula
	}
	if m.numberFormat {
		cell.Format = NumberFormat{}
		if cd.UserEnteredFormat != nil && cd.UserEnteredFormat.NumberFormat != nil {
			nf := cd.UserEnteredFormat.NumberFormat
			if nf.Type == "" {
				return errorf(400, "Invalid numberFormat: type is required")
			}
			cell.Format = NumberFormat{Type: nf.Type, Pattern: nf.Pattern}
		}
	}
	if m.bold {
		cell.Bold = cd.UserEnteredFormat != nil && cd.UserEnteredFormat.TextFormat != nil && cd.UserEnteredFormat.TextFormat.Bold
	}
	return nil
}

func extValue(v *sheets.ExtendedValue) (any, bool, *apiError) {
	if v == nil {
		return nil, false, nil
	}
	n := 0
	var out any
	formula := false
	if v.StringValue != nil {
		n++
		if len([]rune(*v.StringValue)) > 50000 {
			return nil, false, errorf(400, "Invalid value: Your input contains more than the maximum of 50000 characters in a single cell.")
		}
		out = *v.StringValue
	}
	if v.NumberValue != nil {
		n++
		out = *v.NumberValue
	}
	if v.BoolValue != nil {
		n++
		out = *v.BoolValue
	}
	if v.FormulaValue != nil {
		n++
		out, formula = *v.FormulaValue, true
	}
	if n > 1 {
		return nil, false, errorf(400, "Invalid value: only one of stringValue, numberValue, boolValue, formulaValue may be set")
	}
	return out, formula, nil
}

func (t *txn) repeatCell(at string, rc *sheets.RepeatCellRequest) *apiError {
	if rc.Range == nil {
		return errorf(400, "Invalid %s: range is required", at)
	}
	s, e := t.sheet(rc.Range.SheetId, at)
	if e != nil {
		return e
	}
	m, e := parseMask(at, rc.Fields)
	if e != nil {
		return e
	}
	r0, r1, c0, c1, e := bounds(at, rc.Range, s)
	if e != nil {
		return e
	}
	for r := r0; r < r1; r++ {
		for c := c0; c < c1; c++ {
			if e := put(s, r, c, rc.Cell, m); e != nil {
				return e
			}
		}
	}
	return nil
}

func (t *txn) updateCells(at string, u *sheets.UpdateCellsRequest) *apiError {
	if (u.Start == nil) == (u.Range == nil) {
		return errorf(400, "Invalid %s: exactly one of start and range must be set", at)
	}
	m, e := parseMask(at, u.Fields)
	if e != nil {
		return e
	}
	if u.Start != nil {
		s, e := t.sheet(u.Start.SheetId, at)
		if e != nil {
			return e
		}
		for i, rd := range u.Rows {
			r := u.Start.RowIndex + int64(i)
			var vals []*sheets.CellData
			if rd != nil {
				vals = rd.Values
			}
			if len(vals) > 0 && (r >= s.RowCount || u.Start.ColumnIndex+int64(len(vals)) > s.ColCount) {
				return errorf(400, "Invalid %s: write exceeds grid limits. Max rows: %d, max columns: %d", at, s.RowCount, s.ColCount)
			}
			for j, cd := range vals {
				if e := put(s, r, u.Start.ColumnIndex+int64(j), cd, m); e != nil {
					return e
				}
			}
		}
		return nil
	}
	s, e := t.sheet(u.Range.SheetId, at)
	if e != nil {
		return e
	}
	r0, r1, c0, c1, e := bounds(at, u.Range, s)
	if e != nil {
		return e
	}
	for r := r0; r < r1; r++ {
		var vals []*sheets.CellData
		if i := r - r0; i < int64(len(u.Rows)) && u.Rows[i] != nil {
			vals = u.Rows[i].Values
		}
		for c := c0; c < c1; c++ {
			var cd *sheets.CellData
			if j := c - c0; j < int64(len(vals)) {
				cd = vals[j]
			}
			if e := put(s, r, c, cd, m); e != nil {
				return e
			}
		}
	}
	return nil
}

func (t *txn) appendCells(at string, a *sheets.AppendCellsRequest) *apiError {
	s, e := t.sheet(a.SheetId, at)
	if e != nil {
		return e
	}
	m, e := parseMask(at, a.Fields)
	if e != nil {
		return e
	}
	start := s.lastDataRow()
	if start < s.Frozen {
		start = s.Frozen
	}
	if need := start + int64(len(a.Rows)); need > s.RowCount {
		s.RowCount = need
	}
	for i, rd := range a.Rows {
		if rd == nil {
			continue
		}
		if w := int64(len(rd.Values)); w > s.ColCount {
			s.ColCount = w
		}
		for j, cd := range rd.Values {
			if e := put(s, start+int64(i), int64(j), cd, m); e != nil {
				return e
			}
		}
	}
	return nil
}

func (t *txn) deleteDimension(at string, d *sheets.DeleteDimensionRequest) *apiError {
	if d.Range == nil {
		return errorf(400, "Invalid %s: range is required", at)
	}
	g := d.Range
	s, e := t.sheet(g.SheetId, at)
	if e != nil {
		return e
	}
	count := s.RowCount
	if g.Dimension == "COLUMNS" {
		count = s.ColCount
	} else if g.Dimension != "ROWS" {
		return errorf(400, "Invalid %s: dimension must be ROWS or COLUMNS", at)
	}
	end := g.EndIndex
	if end == 0 {
		end = count
	}
	if g.StartIndex < 0 || g.StartIndex >= end || end > count {
		return errorf(400, "Invalid %s: Cannot delete a %s range [%d, %d) of a sheet with %d", at, strings.ToLower(g.Dimension), g.StartIndex, end, count)
	}
	n := end - g.StartIndex
	if g.Dimension == "ROWS" {
		if s.RowCount-n <= s.Frozen {
			return errorf(400, "Invalid %s: Sorry, it is not possible to delete all non-frozen rows.", at)
		}
		s.RowCount -= n
		if lo := g.StartIndex; lo < int64(len(s.Rows)) {
			hi := min(end, int64(len(s.Rows)))
			s.Rows = append(s.Rows[:lo], s.Rows[hi:]...)
		}
		if g.StartIndex < s.Frozen {
			s.Frozen = max(g.StartIndex, s.Frozen-n)
		}
		return nil
	}
	if s.ColCount-n < 1 {
		return errorf(400, "Invalid %s: You can't delete all the columns on the sheet.", at)
	}
	s.ColCount -= n
	for i, row := range s.Rows {
		if lo := g.StartIndex; lo < int64(len(row)) {
			hi := min(end, int64(len(row)))
			row = s.row(int64(i))
			s.Rows[i] = append(row[:lo], row[hi:]...)
		}
	}
	return nil
}

func (t *txn) insertDimension(at string, d *sheets.InsertDimensionRequest) *apiError {
	if d.Range == nil {
		return errorf(400, "Invalid %s: range is required", at)
	}
	g := d.Range
	s, e := t.sheet(g.SheetId, at)
	if e != nil {
		return e
	}
	n := g.EndIndex - g.StartIndex
	if n <= 0 || g.StartIndex < 0 {
		return errorf(400, "Invalid %s: bad range", at)
	}
	if d.InheritFromBefore && g.StartIndex == 0 {
		return errorf(400, "Invalid %s: Cannot inherit from before when inserting at index 0", at)
	}
	switch g.Dimension {
	case "ROWS":
		if g.StartIndex > s.RowCount {
			return errorf(400, "Invalid %s: start index beyond the grid", at)
		}
		s.RowCount += n
		if lo := g.StartIndex; lo < int64(len(s.Rows)) {
			s.Rows = append(s.Rows[:lo], append(make([][]Cell, n), s.Rows[lo:]...)...)
		}
		if g.StartIndex < s.Frozen {
			s.Frozen += n
		}
	case "COLUMNS":
		if g.StartIndex > s.ColCount {
			return errorf(400, "Invalid %s: start index beyond the grid", at)
		}
		s.ColCount += n
		for i, row := range s.Rows {
			if lo := g.StartIndex; lo < int64(len(row)) {
				s.Rows[i] = append(row[:lo:lo], append(make([]Cell, n), row[lo:]...)...) // a new row: the old may be shared
			}
		}
	default:
		return errorf(400, "Invalid %s: dimension must be ROWS or COLUMNS", at)
	}
	return nil
}
