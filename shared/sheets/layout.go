package sheets

// The layout a Sink keeps between batches.
//
// Reading a tab's whole key column before every batch makes each batch cost as much as the tab
// is long (a full sync then grows quadratically in rows). So after a round the Sink keeps what
// it knows of the tab: its keys by row (and the Sink, the marker its last write left in the
// scratch tab). The next batch plans from that layout and, once the tab is
// protected, verifies it with one small read (instead of the key column):
//
//   - the header row (verified before every write, as always);
//   - the scratch tab's marker: every Sink write leaves a fresh one there, so a marker that is
//     not the one this Sink left means someone else wrote the tab;
//   - the key cells of the last known data row and the row after it: a row inserted or
//     deleted anywhere above, or a row a person typed below, shows there;
//   - the key cells of every row the batch will update (in runs).
//
// Any difference, and the Sink drops the layout and reads the key column as a first batch
// does. The atomic write still snapshots the rows it touches, so a row moved between the
// check and the write is repaired as before: the layout saves the read, not the verification.
// A layout is also dropped after any round that moved rows (deletions, repairs, a write whose
// outcome is unknown) and when it is older than layoutMaxAge, so blank rows and duplicates a
// person made are tidied up at least that often.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"google.golang.org/api/sheets/v4"
	"supportsync.dev/shared/table"
)

// layoutMaxAge bounds how long a kept layout is trusted (with its checks) before the key
// column is read again.
const layoutMaxAge = 10 * time.Minute

// maxProbeRuns is the most runs of updated rows whose keys open checks; a batch that touches
// rows more scattered than that reads the key column instead.
const maxProbeRuns = 200

// layout is what the Sink knows of a tab after its last round.
type layout struct {
	keys  []string         // keys[i] is the key of grid row i+1 ("" when blank)
	where map[string]int64 // key -> grid row of its first occurrence
	taken time.Time        // when the key column was last read
}

// newLayout indexes keys read from a tab.
func newLayout(keys []string, now time.Time) *layout {
	l := &layout{keys: keys, where: make(map[string]int64, len(keys)), taken: now}
	for i, key := range keys {
		if _, dup := l.where[key]; key != "" && !dup {
			l.where[key] = int64(i + 1)
		}
	}
	return l
}

// appended records rows a write inserted at grid row at (from 1), in order: rows at and
// below at move down.
func (l *layout) appended(at int64, keys []string) {
	i := int(at - 1)
	if i < 0 || i > len(l.keys) {
		i = len(l.keys)
	}
	if i < len(l.keys) {
		for key, idx := range l.where {
			if idx >= int64(i+1) {
				l.where[key] = idx + int64(len(keys))
			}
		}
	}
	l.keys = slices.Insert(l.keys, i, keys...)
	for j, key := range keys {
		if _, dup := l.where[key]; key != "" && !dup {
			l.where[key] = int64(i + j + 1)
		}
	}
}

// readProbe reads, in one values.batchGet, the tab's header row, the scratch tab's marker and
// the probe's ranges (column-major: got[i][c] is column c of range i).
func (k *Sink) readProbe(ctx context.Context, s table.Schema, p probe) (header, marker []any, got [][][]any, err error) {
	ranges := append([]string{quoteTab(s.Tab) + "!1:1", quoteTab(ScratchTab) + "!A1"}, p.ranges...)
	vrs, err := k.batchGet(ctx, "layout check", "COLUMNS", ranges)
	if err != nil {
		return nil, nil, nil, err
	}
	first := func(vr *sheets.ValueRange) []any {
		if len(vr.Values) == 0 {
			return nil
		}
		return vr.Values[0]
	}
	for _, col := range vrs[0].Values {
		var v any
		if len(col) > 0 {
			v = col[0]
		}
		header = append(header, v)
	}
	marker = first(vrs[1])
	for _, vr := range vrs[2:] {
		got = append(got, vr.Values)
	}
	return header, marker, got, nil
}

// probe is what a layout check reads: the ranges (after the header and the
// scratch marker) and, for each, the keys expected at its rows.
type probe struct {
	ranges []string
	want   [][]string
}

// probeFor lists the key-cell ranges that check l before a batch that updates the rows of
// keys: the last known row and the one after it (within the grid's gridRows), and each run of
// updated rows. ok is false when the updated rows are too scattered to check cheaply.
//
// The runs of updated rows are read across every contract column (ncols), so the Sink can
// leave the rows whose cells already hold what it would write (see unchanged).
func probeFor(tab string, l *layout, keys []string, gridRows int64, ncols int) (p probe, ok bool) {
	n := int64(len(l.keys))
	add := func(from, to int64, last string) { // grid rows, inclusive; last: the last column read
		want := make([]string, 0, to-from+1)
		for r := from; r <= to; r++ {
			key := ""
			if r >= 1 && r <= n {
				key = l.keys[r-1]
			}
			want = append(want, key)
		}
		p.ranges = append(p.ranges, fmt.Sprintf("%s!A%d:%s%d", quoteTab(tab), from+1, last, to+1))
		p.want = append(p.want, want)
	}
	add(max(n, 1), min(n+1, max(gridRows-1, 1)), "A") // no row past the grid
	rows := make([]int64, 0, len(keys))
	for _, key := range keys {
		if idx, ok := l.where[key]; ok {
			rows = append(rows, idx)
		}
	}
	slices.Sort(rows)
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j] <= rows[j-1]+1 {
			j++
		}
		if len(p.ranges) > maxProbeRuns {
			return probe{}, false
		}
		add(rows[i], rows[j-1], colName(ncols-1))
		i = j
	}
	return p, true
}

// check compares what readProbe read with what l expects: the scratch tab's marker (the one
// this Sink's last write left, marker) and the probe's key cells.
func (l *layout) check(marker string, gotMarker []any, p probe, got [][][]any) error {
	var m any
	if len(gotMarker) > 0 {
		m = gotMarker[0]
	}
	if marker == "" || keyOf(m) != marker {
		return fmt.Errorf("the scratch tab's marker is %q, not the one this writer left (%q): someone else wrote", keyOf(m), marker)
	}
	keys := make([][]any, len(got))
	for i, cols := range got {
		if len(cols) > 0 {
			keys[i] = cols[0]
		}
	}
	return p.check(keys)
}

// unchanged returns the keys of the probe's rows whose contract cells already hold what want
// would write (as read with UNFORMATTED_VALUE: texts, numbers, date serials, booleans). Those
// rows need no write: a full run of an account whose records mostly did not change writes only
// the ones that did. got is what readProbe read for p (checked).
func unchanged(p probe, got [][][]any, want *pending) []string {
	var out []string
	for i, cols := range got {
		if i == 0 {
			continue // the tail check reads the key column only
		}
		for j, key := range p.want[i] {
			if _, ok := want.want[key]; !ok || key == "" {
				continue
			}
			same := true
			for c, w := range want.raw(key) {
				var v any
				if c < len(cols) && j < len(cols[c]) {
					v = cols[c][j]
				}
				if !sameValue(v, w) {
					same = false
					break
				}
			}
			if same {
				out = append(out, key)
			}
		}
	}
	return out
}

// sameValue reports whether a read cell value holds the value a write would put there.
func sameValue(read, write any) bool {
	if write == nil || write == "" {
		return read == nil || read == ""
	}
	switch w := write.(type) {
	case float64:
		r, ok := read.(float64)
		return ok && math.Abs(r-w) <= 1e-12*max(1, math.Abs(w)) // a date serial: 4 ms; above how the API prints a double
	default:
		return read == write
	}
}

// check compares key cells read back with the probe: got holds one column of values per
// probe range.
func (p probe) check(got [][]any) error {
	if len(got) != len(p.want) {
		return fmt.Errorf("%d probe ranges answered, %d asked", len(got), len(p.want))
	}
	for i, want := range p.want {
		for j, key := range want {
			var v any
			if j < len(got[i]) {
				v = got[i][j]
			}
			if k := keyOf(v); k != key {
				return fmt.Errorf("%s row %d holds %q, the layout says %q", p.ranges[i], j+1, k, key)
			}
		}
	}
	return nil
}

// columnOf returns the first column of a GridData as values (nil for empty cells), padded to
// the rows from its start row.
func columnOf(gd *sheets.GridData) []any {
	if gd == nil {
		return nil
	}
	out := make([]any, 0, len(gd.RowData))
	for _, rd := range gd.RowData {
		var v any
		if rd != nil && len(rd.Values) > 0 && rd.Values[0] != nil {
			v = extValue(rd.Values[0].UserEnteredValue)
		}
		out = append(out, v)
	}
	return out
}
