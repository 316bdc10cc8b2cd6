package sheetsfake

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/api/sheets/v4"
)

// protection is one protected range of a tab. Unbounded ends (0) mean the grid's end, as in a
// GridRange; a protection with no bounds at all protects the whole sheet.
type protection struct {
	ID          int64  `json:"id"`
	Description string `json:"description,omitempty"`
	WarningOnly bool   `json:"warningOnly,omitempty"`
	R0          int64  `json:"r0,omitempty"`
	R1          int64  `json:"r1,omitempty"`
	C0          int64  `json:"c0,omitempty"`
	C1          int64  `json:"c1,omitempty"`
}

func (p protection) json(sheetID int64) map[string]any {
	rng := map[string]any{"sheetId": sheetID}
	for k, v := range map[string]int64{"startRowIndex": p.R0, "endRowIndex": p.R1, "startColumnIndex": p.C0, "endColumnIndex": p.C1} {
		if v != 0 {
			rng[k] = v
		}
	}
	return map[string]any{"protectedRangeId": p.ID, "range": rng, "description": p.Description,
		"warningOnly": p.WarningOnly, "requestingUserCanEdit": true}
}

// coversRows reports whether the protection blocks a change to rows [r0, r1).
func (p protection) coversRows(r0, r1 int64) bool {
	if p.WarningOnly {
		return false
	}
	end := p.R1
	if end == 0 {
		end = 1 << 62
	}
	return r0 < end && p.R0 < r1
}

func (t *txn) addProtectedRange(at string, a *sheets.AddProtectedRangeRequest) (any, *apiError) {
	pr := a.ProtectedRange
	if pr == nil || pr.Range == nil {
		return nil, errorf(400, "Invalid %s: protectedRange.range is required", at)
	}
	s, e := t.meta(pr.Range.SheetId, at)
	if e != nil {
		return nil, e
	}
	g := pr.Range
	if _, _, _, _, e := bounds(at, g, s); e != nil {
		return nil, e
	}
	id := rand.Int64N(1<<31-2) + 1
	for t.protectionIDUsed(id) {
		id = rand.Int64N(1<<31-2) + 1
	}
	p := protection{ID: id, Description: pr.Description, WarningOnly: pr.WarningOnly,
		R0: g.StartRowIndex, R1: g.EndRowIndex, C0: g.StartColumnIndex, C1: g.EndColumnIndex}
	s.Protected = append(s.Protected, p)
	return map[string]any{"addProtectedRange": map[string]any{"protectedRange": p.json(s.ID)}}, nil
}

func (t *txn) protectionIDUsed(id int64) bool {
	for _, s := range t.b.Sheets {
		for _, p := range s.Protected {
			if p.ID == id {
				return true
			}
		}
	}
	return false
}

func (t *txn) deleteProtectedRange(at string, d *sheets.DeleteProtectedRangeRequest) *apiError {
	for _, s0 := range t.b.Sheets {
		for i, p := range s0.Protected {
			if p.ID != d.ProtectedRangeId {
				continue
			}
			s, e := t.meta(s0.ID, at)
			if e != nil {
				return e
			}
			s.Protected = slices.Delete(slices.Clone(s.Protected), i, i+1)
			return nil
		}
	}
	return errorf(400, "Invalid %s: No protected range with id: %d", at, d.ProtectedRangeId)
}

// copyPaste copies the source range's cells to the destination's top-left corner (tiled when the
// destination is a multiple of the source), like the API: PASTE_NORMAL copies values, formulas
// and formats, PASTE_VALUES values only (a formula's text is not evaluated by the fake, so it
// pastes as nothing). Cells outside the destination tab's grid are an error.
func (t *txn) copyPaste(at string, c *sheets.CopyPasteRequest) *apiError {
	if c.Source == nil || c.Destination == nil {
		return errorf(400, "Invalid %s: source and destination are required", at)
	}
	if c.PasteOrientation != "" && c.PasteOrientation != "NORMAL" {
		return errorf(400, "Invalid %s: sheetsfake supports only NORMAL paste orientation", at)
	}
	src, e := t.read(c.Source.SheetId, at)
	if e != nil {
		return e
	}
	sr0, sr1, sc0, sc1, e := bounds(at, c.Source, src)
	if e != nil {
		return e
	}
	// Read the source first: source and destination may be the same tab.
	h, w := sr1-sr0, sc1-sc0
	cells := make([][]Cell, h)
	for i := range cells {
		cells[i] = make([]Cell, w)
		for j := range cells[i] {
			cells[i][j] = src.get(sr0+int64(i), sc0+int64(j))
		}
	}
	dst, e := t.sheet(c.Destination.SheetId, at)
	if e != nil {
		return e
	}
	dr0, dc0 := c.Destination.StartRowIndex, c.Destination.StartColumnIndex
	th, tw := h, w
	if c.Destination.EndRowIndex > 0 && (c.Destination.EndRowIndex-dr0)%h == 0 && c.Destination.EndRowIndex-dr0 > h {
		th = c.Destination.EndRowIndex - dr0
	}
	if c.Destination.EndColumnIndex > 0 && (c.Destination.EndColumnIndex-dc0)%w == 0 && c.Destination.EndColumnIndex-dc0 > w {
		tw = c.Destination.EndColumnIndex - dc0
	}
	if dr0 < 0 || dc0 < 0 || dr0+th > dst.RowCount || dc0+tw > dst.ColCount {
		return errorf(400, "Invalid %s: the paste exceeds the grid limits of %q. Max rows: %d, max columns: %d", at, dst.Title, dst.RowCount, dst.ColCount)
	}
	for i := int64(0); i < th; i++ {
		for j := int64(0); j < tw; j++ {
			v := cells[i%h][j%w]
			switch c.PasteType {
			case "", "PASTE_NORMAL", "PASTE_NO_BORDERS":
			case "PASTE_VALUES":
				old := dst.get(dr0+i, dc0+j)
				if v.Formula {
					v.Value = nil
				}
				v.Formula, v.Format, v.Bold = false, old.Format, old.Bold
			default:
				return errorf(400, "Invalid %s: sheetsfake does not support pasteType %s", at, c.PasteType)
			}
			if v == (Cell{}) && (dr0+i >= int64(len(dst.Rows)) || dc0+j >= int64(len(dst.Rows[dr0+i]))) {
				continue
			}
			*dst.cell(dr0+i, dc0+j) = v
		}
	}
	return nil
}

// shrink drops stored cells outside the grid (after the grid was made smaller).
func (s *sheet) shrink() {
	if int64(len(s.Rows)) > s.RowCount {
		s.Rows = s.Rows[:s.RowCount]
	}
	for i, r := range s.Rows {
		if int64(len(r)) > s.ColCount {
			s.Rows[i] = r[:s.ColCount]
		}
	}
}

// gridDataJSON is a GridData of a span: rowData up to the last row holding data, each cell's
// userEnteredValue, userEnteredFormat, effectiveValue and formattedValue.
func gridDataJSON(p span) map[string]any {
	r1 := min(p.r1, p.s.lastDataRow())
	var rows []any
	for r := p.r0; r < r1; r++ {
		var vals []any
		for c := p.c0; c < p.c1; c++ {
			vals = append(vals, cellJSON(p.s.get(r, c)))
		}
		rows = append(rows, map[string]any{"values": vals})
	}
	out := map[string]any{}
	if p.r0 > 0 {
		out["startRow"] = p.r0
	}
	if p.c0 > 0 {
		out["startColumn"] = p.c0
	}
	if len(rows) > 0 {
		out["rowData"] = rows
	}
	return out
}

func cellJSON(c Cell) map[string]any {
	out := map[string]any{}
	if c.HasValue() {
		var ev map[string]any
		switch v := c.Value.(type) {
		case string:
			if c.Formula {
				ev = map[string]any{"formulaValue": v}
			} else {
				ev = map[string]any{"stringValue": v}
			}
		case float64:
			ev = map[string]any{"numberValue": v}
		case bool:
			ev = map[string]any{"boolValue": v}
		}
		out["userEnteredValue"] = ev
		if !c.Formula {
			out["effectiveValue"] = ev
			out["formattedValue"] = display(c)
		}
	}
	f := map[string]any{}
	if c.Format.Type != "" {
		nf := map[string]any{"type": c.Format.Type}
		if c.Format.Pattern != "" {
			nf["pattern"] = c.Format.Pattern
		}
		f["numberFormat"] = nf
	}
	if c.Bold {
		f["textFormat"] = map[string]any{"bold": true}
	}
	if len(f) > 0 {
		out["userEnteredFormat"] = f
	}
	return out
}

// Call describes a request the Fake is about to handle, for OnRequest hooks.
type Call struct {
	// N counts the requests the Fake has received, this one included (from 1).
	N int64
	// Write is set for every request that is not a GET.
	Write bool
	// Method is the API method: spreadsheets.get, spreadsheets.batchUpdate,
	// spreadsheets.values.get, .batchGet, .update, .batchUpdate or .append.
	Method string
}

// OnRequest sets a hook called before each request is handled (nil removes it). The hook runs
// without the Fake's lock, so it may edit the spreadsheet like a person would (SortRows,
// InsertRows, DeleteRows, SetCell) between a client's requests.
func (f *Fake) OnRequest(hook func(Call)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = hook
}

func (f *Fake) runHook(r *http.Request, read bool) {
	n := f.calls.Add(1)
	f.mu.Lock()
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(Call{N: n, Write: !read, Method: methodOf(r)})
	}
}

func methodOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, ":batchUpdate") && strings.Contains(p, "/values"):
		return "spreadsheets.values.batchUpdate"
	case strings.HasSuffix(p, ":batchUpdate"):
		return "spreadsheets.batchUpdate"
	case strings.HasSuffix(p, "values:batchGet"):
		return "spreadsheets.values.batchGet"
	case strings.HasSuffix(p, ":append"):
		return "spreadsheets.values.append"
	case strings.Contains(p, "/values/") && r.Method == http.MethodGet:
		return "spreadsheets.values.get"
	case strings.Contains(p, "/values/"):
		return "spreadsheets.values.update"
	}
	return "spreadsheets.get"
}

// ErrProtected is returned by a person's edit that a protected range forbids.
var ErrProtected = errors.New("sheetsfake: the range is protected")

// Editor says who edits in the person hooks: an Editor is stopped by protected ranges, the
// Owner of the spreadsheet is not (as in Google Sheets, an owner can always edit).
type Editor int

// The people of the person hooks.
const (
	AnEditor Editor = iota
	Owner
)

// personTab returns the tab a person edits, checking the protections on rows [r0, r1).
func (f *Fake) personTab(spreadsheetID, tab string, who Editor, r0, r1 int64) (*sheet, error) {
	s, err := f.tab(spreadsheetID, tab)
	if err != nil {
		return nil, err
	}
	if who != Owner {
		for _, p := range s.Protected {
			if p.coversRows(r0, r1) {
				return nil, fmt.Errorf("%w: %q (%s)", ErrProtected, tab, p.Description)
			}
		}
	}
	return s, nil
}

// SortRows reorders the data rows of a tab (whole rows, below the frozen rows, up to the last
// row with data), as a person sorting the sheet: by the display text of column col, or in a
// random order drawn from rng when rng is not nil.
func (f *Fake) SortRows(spreadsheetID, tab string, who Editor, col int, rng *rand.Rand) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s0, err := f.tab(spreadsheetID, tab)
	if err != nil {
		return err
	}
	lo, hi := s0.Frozen, s0.lastDataRow()
	if hi <= lo {
		return nil
	}
	s, err := f.personTab(spreadsheetID, tab, who, lo, hi)
	if err != nil {
		return err
	}
	rows := s.Rows[lo:hi]
	if rng != nil {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	} else {
		slices.SortStableFunc(rows, func(a, b []Cell) int {
			var x, y string
			if col < len(a) {
				x = display(a[col])
			}
			if col < len(b) {
				y = display(b[col])
			}
			return strings.Compare(x, y)
		})
	}
	f.changed(spreadsheetID)
	return nil
}

// InsertRows inserts n blank rows before grid row index at, as a person would.
func (f *Fake) InsertRows(spreadsheetID, tab string, who Editor, at, n int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.personTab(spreadsheetID, tab, who, at, at+1)
	if err != nil {
		return err
	}
	if at < 1 || at > s.RowCount || n <= 0 {
		return fmt.Errorf("sheetsfake: cannot insert %d rows at %d in %q", n, at, tab)
	}
	s.RowCount += n
	if at < int64(len(s.Rows)) {
		s.Rows = append(s.Rows[:at], append(make([][]Cell, n), s.Rows[at:]...)...)
	}
	f.changed(spreadsheetID)
	return nil
}

// DeleteRows deletes n rows from grid row index at, as a person would.
func (f *Fake) DeleteRows(spreadsheetID, tab string, who Editor, at, n int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.personTab(spreadsheetID, tab, who, at, at+n)
	if err != nil {
		return err
	}
	if at < s.Frozen || n <= 0 || at+n > s.RowCount || s.RowCount-n <= s.Frozen {
		return fmt.Errorf("sheetsfake: cannot delete rows [%d, %d) of %q", at, at+n, tab)
	}
	s.RowCount -= n
	if at < int64(len(s.Rows)) {
		s.Rows = append(s.Rows[:at], s.Rows[min(at+n, int64(len(s.Rows))):]...)
	}
	f.changed(spreadsheetID)
	return nil
}

// Protections returns the descriptions of a tab's protected ranges.
func (f *Fake) Protections(spreadsheetID, tab string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.tab(spreadsheetID, tab)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range s.Protected {
		out = append(out, p.Description)
	}
	return out, nil
}

// SetGrid sets a tab's grid size, as a person adding or removing rows and columns at the end.
func (f *Fake) SetGrid(spreadsheetID, tab string, rows, cols int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.tab(spreadsheetID, tab)
	if err != nil {
		return err
	}
	if rows <= s.Frozen || cols < 1 {
		return fmt.Errorf("sheetsfake: bad grid %dx%d for %q", rows, cols, tab)
	}
	s.RowCount, s.ColCount = rows, cols
	s.shrink()
	f.changed(spreadsheetID)
	return nil
}

// Fill types rows of values (nil, string, float64, int or bool; strings stored as text) into a
// tab from grid row index from, column A on, growing the grid, as a person pasting a block: a
// fast way for tests to give a tab many rows. DateTime formats are not set: format the
// columns first (a tab made by the Sink has them).
func (f *Fake) Fill(spreadsheetID, tab string, from int64, rows [][]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.tab(spreadsheetID, tab)
	if err != nil {
		return err
	}
	s.RowCount = max(s.RowCount, from+int64(len(rows)))
	for i, r := range rows {
		s.ColCount = max(s.ColCount, int64(len(r)))
		for j, v := range r {
			if v == nil {
				continue
			}
			if n, ok := v.(int); ok {
				v = float64(n)
			}
			c := s.cell(from+int64(i), int64(j))
			c.Value, c.Formula = v, false
		}
	}
	f.changed(spreadsheetID)
	return nil
}

// InsertColumns inserts n blank columns before column index at, as a person would.
func (f *Fake) InsertColumns(spreadsheetID, tab string, who Editor, at, n int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.personTab(spreadsheetID, tab, who, 0, 1<<62)
	if err != nil {
		return err
	}
	if at < 0 || at > s.ColCount || n <= 0 {
		return fmt.Errorf("sheetsfake: cannot insert %d columns at %d in %q", n, at, tab)
	}
	s.ColCount += n
	for i, row := range s.Rows {
		if at < int64(len(row)) {
			s.Rows[i] = append(row[:at:at], append(make([]Cell, n), row[at:]...)...)
		}
	}
	f.changed(spreadsheetID)
	return nil
}
