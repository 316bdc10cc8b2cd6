package sheets

import (
	"context"
	"fmt"

	"google.golang.org/api/sheets/v4"
)

// DefaultPageRows is how many rows one read of a column scan covers. A page of a key column is
// about 1.5 MB of JSON; decoded, a page of two columns stays under 20 MB of memory.
const DefaultPageRows = 100_000

// WithPageRows sets how many rows one read of a column scan covers (default DefaultPageRows).
func WithPageRows(n int) Option {
	return func(k *Sink) {
		if n > 0 {
			k.pageRows = n
		}
	}
}

// scan reads only the given columns (0-based) of a tab's data rows, in pages of k.pageRows rows,
// column-major (one array per column: the smallest answer and decoded form), and the header row
// with the first page. gridRows is the tab's grid height. fn gets every data row's index (0 is
// the row below the header) up to the last row with a value in one of the columns, blank rows
// inside included, with one value per column (nil when empty).
func (k *Sink) scan(ctx context.Context, tab string, cols []int, gridRows int64, fn func(i int, vals []any)) (header []any, rows int, err error) {
	next := 0 // the next data row fn has not seen
	vals := make([]any, len(cols))
	for start := int64(2); start == 2 || start <= gridRows; start += int64(k.pageRows) {
		end := min(start+int64(k.pageRows)-1, gridRows)
		var ranges []string
		if start == 2 {
			ranges = append(ranges, quoteTab(tab)+"!1:1")
		}
		for _, c := range cols {
			if end < start {
				break // a grid of the header row only
			}
			l := colName(c)
			ranges = append(ranges, fmt.Sprintf("%s!%s%d:%s%d", quoteTab(tab), l, start, l, end))
		}
		var resp *sheets.BatchGetValuesResponse
		err := k.call(ctx, false, "spreadsheets.values.batchGet", func() (err error) {
			resp, err = k.svc.Spreadsheets.Values.BatchGet(k.id).Ranges(ranges...).
				ValueRenderOption("UNFORMATTED_VALUE").DateTimeRenderOption("SERIAL_NUMBER").
				MajorDimension("COLUMNS").Context(ctx).Do()
			return err
		})
		if err != nil {
			return nil, 0, err
		}
		vrs := resp.ValueRanges
		if len(vrs) != len(ranges) {
			return nil, 0, fmt.Errorf("spreadsheets.values.batchGet: %d ranges answered, %d asked", len(vrs), len(ranges))
		}
		if start == 2 {
			for _, col := range vrs[0].Values {
				var v any
				if len(col) > 0 {
					v = col[0]
				}
				header = append(header, v)
			}
			vrs = vrs[1:]
		}
		if end < start {
			break
		}
		page := make([][]any, len(cols))
		n := 0
		for j, vr := range vrs {
			if len(vr.Values) > 0 {
				page[j] = vr.Values[0]
				n = max(n, len(page[j]))
			}
		}
		if n == 0 {
			continue
		}
		base := int(start - 2)
		for ; next < base; next++ {
			clear(vals)
			fn(next, vals)
		}
		for o := range n {
			for j := range cols {
				vals[j] = nil
				if o < len(page[j]) {
					vals[j] = page[j][o]
				}
			}
			fn(base+o, vals)
		}
		next = base + n
	}
	return header, next, nil
}
