package sheets

import (
	"context"
	"fmt"

	"google.golang.org/api/sheets/v4"
)

// DefaultPageRows is how many rows one range of a column scan covers.
const DefaultPageRows = 100_000

// WithPageRows sets how many rows one range of a column scan covers (default DefaultPageRows).
func WithPageRows(n int) Option {
	return func(k *Sink) {
		if n > 0 {
			k.pageRows = n
		}
	}
}

// scan reads only the given columns (0-based) of a tab's data rows and its header row, in ONE
// values.batchGet: one request is one consistent state of the tab, so a person moving rows
// while the tab is read can never make a record look duplicated or missing (across several
// requests a row moved from an unread part into a read one would). The column is asked for in
// ranges of k.pageRows rows, column-major (one array per range: the smallest answer and
// decoded form), and each range's values are dropped once handed to fn. gridRows is the tab's
// grid height. fn gets every data row's index (0 is the row below the header) up to the last
// row with a value in one of the columns, blank rows inside included, with one value per
// column (nil when empty).
func (k *Sink) scan(ctx context.Context, tab string, cols []int, gridRows int64, fn func(i int, vals []any)) (header []any, rows int, err error) {
	ranges := []string{quoteTab(tab) + "!1:1"}
	var starts []int64
	for start := int64(2); start <= gridRows; start += int64(k.pageRows) {
		end := min(start+int64(k.pageRows)-1, gridRows)
		starts = append(starts, start)
		for _, c := range cols {
			l := colName(c)
			ranges = append(ranges, fmt.Sprintf("%s!%s%d:%s%d", quoteTab(tab), l, start, l, end))
		}
	}
	vrs, err := k.batchGet(ctx, "", "COLUMNS", ranges)
	if err != nil {
		return nil, 0, err
	}
	for _, col := range vrs[0].Values {
		var v any
		if len(col) > 0 {
			v = col[0]
		}
		header = append(header, v)
	}
	next := 0 // the next data row fn has not seen
	vals := make([]any, len(cols))
	for p, start := range starts {
		page := make([][]any, len(cols))
		n := 0
		for j := range cols {
			vr := vrs[1+p*len(cols)+j]
			if len(vr.Values) > 0 {
				page[j] = vr.Values[0]
				n = max(n, len(page[j]))
			}
			vr.Values = nil
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

// batchGet reads ranges in one spreadsheets.values.batchGet, unformatted (dates as serials), in
// the given major dimension, and returns one ValueRange per range asked. what names the read in
// errors and logs.
func (k *Sink) batchGet(ctx context.Context, what, major string, ranges []string) ([]*sheets.ValueRange, error) {
	name := "spreadsheets.values.batchGet"
	if what != "" {
		name += " (" + what + ")"
	}
	var resp *sheets.BatchGetValuesResponse
	err := k.call(ctx, false, name, func() (err error) {
		resp, err = k.svc.Spreadsheets.Values.BatchGet(k.id).Ranges(ranges...).
			ValueRenderOption("UNFORMATTED_VALUE").DateTimeRenderOption("SERIAL_NUMBER").
			MajorDimension(major).Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(resp.ValueRanges) != len(ranges) {
		return nil, fmt.Errorf("%s: %d ranges answered, %d asked", name, len(resp.ValueRanges), len(ranges))
	}
	return resp.ValueRanges, nil
}
