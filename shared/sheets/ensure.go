package sheets

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/table"
)

// Ensure makes sure every schema's tab exists with its header. Missing tabs are added with a
// bold, frozen header row and the column formats (date-times yyyy-mm-dd hh:mm:ss, numbers,
// texts as plain text), exactly as wide as their contract (every grid cell counts against the
// workbook's 10,000,000); a tab whose header row is blank gets the header; blank header cells
// after the ones that match are filled in. A header that names other columns than the contract
// is an error that names the tab and the columns, and nothing is changed. Header cells to the
// right of the contract columns are the user's and are fine; empty columns beyond the contract
// and the user's columns are deleted. The hidden scratch tab (ScratchTab) is added if missing.
//
// It costs one metadata read, one header read when some tabs exist, one read of the columns
// beyond the headers when a tab has some, and one write when something is missing. Tabs already
// ensured by this Sink cost nothing (the header is checked again before every batch).
func (k *Sink) Ensure(ctx context.Context, schemas ...table.Schema) error {
	k.ensureMu.Lock()
	defer k.ensureMu.Unlock()
	var todo []table.Schema
	for _, s := range schemas {
		if _, ok := k.cachedID(s.Tab); !ok {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return nil
	}

	var ss *sheets.Spreadsheet
	err := k.call(ctx, false, "spreadsheets.get", func() (err error) {
		ss, err = k.svc.Spreadsheets.Get(k.id).Fields("sheets.properties").Context(ctx).Do()
		return err
	})
	if err != nil {
		return fmt.Errorf("sheets: ensure: %w", err)
	}
	props := map[string]*sheets.SheetProperties{}
	used := map[int64]bool{}
	for _, sh := range ss.Sheets {
		if sh.Properties != nil {
			props[sh.Properties.Title] = sh.Properties
			used[sh.Properties.SheetId] = true
		}
	}

	// Read the header rows of the tabs that exist, in one request.
	var existing []table.Schema
	var ranges []string
	for _, s := range todo {
		if props[s.Tab] != nil {
			existing = append(existing, s)
			ranges = append(ranges, quoteTab(s.Tab)+"!1:1")
		}
	}
	headers := map[string][]any{}
	if len(ranges) > 0 {
		var resp *sheets.BatchGetValuesResponse
		err := k.call(ctx, false, "spreadsheets.values.batchGet", func() (err error) {
			resp, err = k.svc.Spreadsheets.Values.BatchGet(k.id).Ranges(ranges...).
				ValueRenderOption("FORMATTED_VALUE").Context(ctx).Do()
			return err
		})
		if err != nil {
			return fmt.Errorf("sheets: ensure: %w", err)
		}
		for i, vr := range resp.ValueRanges {
			if i < len(existing) && len(vr.Values) > 0 {
				headers[existing[i].Tab] = vr.Values[0]
			}
		}
	}

	trim, err := k.emptyColumns(ctx, existing, props, headers)
	if err != nil {
		return fmt.Errorf("sheets: ensure: %w", err)
	}

	var reqs []*sheets.Request
	ids := map[string]int64{}
	var problems []error
	if props[ScratchTab] == nil {
		reqs = append(reqs, scratchSheet(newSheetID(used)))
	}
	for _, s := range todo {
		p := props[s.Tab]
		if p == nil {
			id := newSheetID(used)
			ids[s.Tab] = id
			cols := int64(len(s.Columns)) // every column costs cells of the workbook's limit
			reqs = append(reqs, &sheets.Request{AddSheet: &sheets.AddSheetRequest{Properties: &sheets.SheetProperties{
				SheetId: id, Title: s.Tab,
				GridProperties: &sheets.GridProperties{RowCount: 1000, ColumnCount: cols, FrozenRowCount: 1},
			}}})
			reqs = append(reqs, headerRequests(s, id, 0)...)
			reqs = append(reqs, formatRequests(s, id)...)
			continue
		}
		ids[s.Tab] = p.SheetId
		have := headers[s.Tab]
		from, diff := compareHeader(s, have)
		if len(diff) > 0 {
			problems = append(problems, &HeaderError{Tab: s.Tab, Problems: diff})
			continue
		}
		if p.GridProperties != nil && p.GridProperties.ColumnCount < int64(len(s.Columns)) {
			reqs = append(reqs, &sheets.Request{AppendDimension: &sheets.AppendDimensionRequest{
				SheetId: p.SheetId, Dimension: "COLUMNS", Length: int64(len(s.Columns)) - p.GridProperties.ColumnCount,
			}})
		}
		if n := trim[s.Tab]; n > 0 {
			// Empty columns beyond the contract and the user's columns only cost cells.
			reqs = append(reqs, &sheets.Request{DeleteDimension: &sheets.DeleteDimensionRequest{Range: &sheets.DimensionRange{
				SheetId: p.SheetId, Dimension: "COLUMNS", StartIndex: p.GridProperties.ColumnCount - n, EndIndex: p.GridProperties.ColumnCount,
			}}})
		}
		if from < len(s.Columns) {
			reqs = append(reqs, headerRequests(s, p.SheetId, from)...)
			if from == 0 {
				reqs = append(reqs, formatRequests(s, p.SheetId)...)
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("sheets: ensure: %w", errors.Join(problems...))
	}
	if len(reqs) > 0 {
		err := k.call(ctx, true, "spreadsheets.batchUpdate", func() error {
			_, err := k.svc.Spreadsheets.BatchUpdate(k.id, &sheets.BatchUpdateSpreadsheetRequest{Requests: reqs}).Context(ctx).Do()
			return err
		})
		if err != nil {
			return fmt.Errorf("sheets: ensure: %w", err)
		}
	}
	k.setIDs(ids)
	return nil
}

// emptyColumns returns, per existing tab, how many columns at the right end of its grid are
// empty in every row: beyond the contract columns and the last header cell, it reads the
// remaining columns (usually empty, so the answer is small), in one request for every tab.
func (k *Sink) emptyColumns(ctx context.Context, existing []table.Schema, props map[string]*sheets.SheetProperties, headers map[string][]any) (map[string]int64, error) {
	out := map[string]int64{}
	var ranges []string
	var tabs []table.Schema
	var from []int64
	for _, s := range existing {
		p := props[s.Tab]
		if p.GridProperties == nil {
			continue
		}
		c0 := int64(len(s.Columns))
		for i, v := range headers[s.Tab] {
			if strings.TrimSpace(fmt.Sprint(v)) != "" {
				c0 = max(c0, int64(i+1))
			}
		}
		if c0 >= p.GridProperties.ColumnCount {
			continue
		}
		ranges = append(ranges, fmt.Sprintf("%s!%s:%s", quoteTab(s.Tab), colName(int(c0)), colName(int(p.GridProperties.ColumnCount-1))))
		tabs = append(tabs, s)
		from = append(from, c0)
	}
	if len(ranges) == 0 {
		return out, nil
	}
	var resp *sheets.BatchGetValuesResponse
	err := k.call(ctx, false, "spreadsheets.values.batchGet", func() (err error) {
		resp, err = k.svc.Spreadsheets.Values.BatchGet(k.id).Ranges(ranges...).MajorDimension("COLUMNS").Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, s := range tabs {
		used := int64(0) // columns in use after from[i]
		if i < len(resp.ValueRanges) {
			for j, col := range resp.ValueRanges[i].Values {
				for _, v := range col {
					if v != nil && v != "" {
						used = int64(j + 1)
						break
					}
				}
			}
		}
		out[s.Tab] = props[s.Tab].GridProperties.ColumnCount - from[i] - used
	}
	return out, nil
}

// compareHeader compares a tab's header row with the contract. It returns the index of the
// first contract column whose header cell is blank when all later ones are blank too (so
// len(columns) means the header is complete), and the differing columns.
func compareHeader(s table.Schema, have []any) (from int, diff []string) {
	from = len(s.Columns)
	for i := len(s.Columns) - 1; i >= 0; i-- {
		if i < len(have) && strings.TrimSpace(fmt.Sprint(have[i])) != "" {
			break
		}
		from = i
	}
	for i := 0; i < from; i++ {
		got := ""
		if i < len(have) {
			got = strings.TrimSpace(fmt.Sprint(have[i]))
		}
		if got != s.Columns[i].Name {
			diff = append(diff, fmt.Sprintf("column %s is %q, want %q", colName(i), got, s.Columns[i].Name))
		}
	}
	return from, diff
}

// headerRequests writes the header cells from column from on, bold, and freezes row 1.
func headerRequests(s table.Schema, id int64, from int) []*sheets.Request {
	vals := make([]*sheets.CellData, 0, len(s.Columns)-from)
	for _, c := range s.Columns[from:] {
		name := c.Name
		vals = append(vals, &sheets.CellData{
			UserEnteredValue:  &sheets.ExtendedValue{StringValue: &name},
			UserEnteredFormat: &sheets.CellFormat{TextFormat: &sheets.TextFormat{Bold: true}},
		})
	}
	return []*sheets.Request{
		{UpdateCells: &sheets.UpdateCellsRequest{
			Range: &sheets.GridRange{SheetId: id, StartRowIndex: 0, EndRowIndex: 1,
				StartColumnIndex: int64(from), EndColumnIndex: int64(len(s.Columns))},
			Rows:   []*sheets.RowData{{Values: vals}},
			Fields: "userEnteredValue,userEnteredFormat.textFormat.bold",
		}},
		{UpdateSheetProperties: &sheets.UpdateSheetPropertiesRequest{
			Properties: &sheets.SheetProperties{SheetId: id, GridProperties: &sheets.GridProperties{FrozenRowCount: 1}},
			Fields:     "gridProperties.frozenRowCount",
		}},
	}
}

// formatRequests sets the number format of each contract column below the header, one
// RepeatCell per run of columns of the same kind.
func formatRequests(s table.Schema, id int64) []*sheets.Request {
	var reqs []*sheets.Request
	for i := 0; i < len(s.Columns); {
		j := i + 1
		for j < len(s.Columns) && s.Columns[j].Kind == s.Columns[i].Kind {
			j++
		}
		if f := columnFormat(s.Columns[i].Kind); f != nil {
			reqs = append(reqs, &sheets.Request{RepeatCell: &sheets.RepeatCellRequest{
				Range:  &sheets.GridRange{SheetId: id, StartRowIndex: 1, StartColumnIndex: int64(i), EndColumnIndex: int64(j)},
				Cell:   &sheets.CellData{UserEnteredFormat: f},
				Fields: "userEnteredFormat.numberFormat",
			}})
		}
		i = j
	}
	return reqs
}

// newSheetID picks an unused sheet id, so requests later in the same batch can name the new tab.
func newSheetID(used map[int64]bool) int64 {
	for {
		id := rand.Int64N(1<<31-2) + 1
		if !used[id] {
			used[id] = true
			return id
		}
	}
}
