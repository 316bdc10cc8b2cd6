package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/sheets/v4"

	sheetsink "supportsync.dev/shared/sheets"
	"supportsync.dev/shared/table"
)

// DefaultPageRows is how many rows one read request returns: 25,000 rows of the widest tab
// (19 columns) are a response of a few MB, and 400,000 rows take 16 reads plus one.
const DefaultPageRows = 25_000

// Reader reads the Tickets and Chats tabs in pages, with the Sheets API v4 directly (values
// unformatted, date-times as serial numbers), mapping columns by their header so that a column
// a person moved is still found.
type Reader struct {
	Svc           *sheets.Service
	SpreadsheetID string
	// Loc is the team timezone the sheet's date-times are written in.
	Loc *time.Location
	// PageRows is the rows per read request (DefaultPageRows when 0).
	PageRows int
	// Attempts is how often a failed read is tried (a read is safe to repeat; default 5), and
	// Backoff the first wait between tries (default 1 s, doubling).
	Attempts int
	Backoff  time.Duration

	requests int
}

// Requests returns the read requests made so far.
func (r *Reader) Requests() int { return r.requests }

// needed are the columns the widgets read, per tab; a tab without one of them cannot be
// published.
var needed = map[string][]string{
	table.Tickets.Tab: {"Ticket ID", "Pipeline", "Status", "Agent", "Created", "Closed", "First Agent Reply",
		"First Response Minutes", "Time To Close Hours", "Weekend"},
	table.Chats.Tab: {"Thread ID", "Started", "Duration Minutes", "Handled By", "Bot", "Agent", "Transferred",
		"First Response Seconds", "First Human Response Seconds", "Rating", "Weekend"},
}

// Tab reads every data row of the schema's tab and calls add for each, in sheet order, as a
// row in the schema's column order (columns the widgets do not read are left empty). A key
// seen twice (a row that moved between two page reads) is passed once.
func (r *Reader) Tab(ctx context.Context, s table.Schema, add func(table.Row)) (rows int, err error) {
	meta, err := r.gridRows(ctx, s.Tab)
	if err != nil {
		return 0, err
	}
	page := r.PageRows
	if page <= 0 {
		page = DefaultPageRows
	}
	var src []int // src[j] = sheet column of schema column j, -1 when not read
	lastCol := 0
	seen := map[string]struct{}{}
	for start := 1; start <= meta; start += page {
		end := min(start+page-1, meta)
		// Read up to the widest needed column; known after the header.
		width := "ZZ"
		if src != nil {
			width = colName(lastCol)
		}
		rng := fmt.Sprintf("'%s'!A%d:%s%d", strings.ReplaceAll(s.Tab, "'", "''"), start, width, end)
		vr, err := r.get(ctx, rng)
		if err != nil {
			return rows, fmt.Errorf("publish: read %s rows %d-%d: %w", s.Tab, start, end, err)
		}
		vals := vr.Values
		// Values come back without trailing blank rows, so a short page may only end on a
		// blank row a person left; an empty page is the end of the data.
		empty := len(vals) == 0
		if src == nil {
			if len(vals) == 0 {
				return 0, fmt.Errorf("publish: tab %s has no header row", s.Tab)
			}
			src, lastCol, err = mapHeader(s, vals[0])
			if err != nil {
				return 0, err
			}
			vals = vals[1:]
		}
		for _, v := range vals {
			row := make(table.Row, len(s.Columns))
			for j, c := range src {
				if c >= 0 && c < len(v) {
					row[j] = sheetsink.DecodeCell(v[c], s.Columns[j].Kind, r.Loc)
				}
			}
			k := row.Key()
			if k == "" {
				continue
			}
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			add(row)
			rows++
		}
		if empty {
			break
		}
	}
	return rows, nil
}

// mapHeader finds the schema's needed columns in the header row.
func mapHeader(s table.Schema, hdr []any) (src []int, last int, err error) {
	at := map[string]int{}
	for i, h := range hdr {
		name := strings.TrimSpace(fmt.Sprint(h))
		if _, dup := at[name]; !dup {
			at[name] = i
		}
	}
	src = make([]int, len(s.Columns))
	var missing []string
	for j, c := range s.Columns {
		src[j] = -1
		i, ok := at[c.Name]
		if ok {
			src[j] = i
			last = max(last, i)
			continue
		}
		for _, n := range needed[s.Tab] {
			if n == c.Name {
				missing = append(missing, c.Name)
			}
		}
	}
	if len(missing) > 0 {
		return nil, 0, fmt.Errorf("publish: tab %s has no column %s in its header row", s.Tab, strings.Join(missing, ", "))
	}
	return src, last, nil
}

// gridRows returns the tab's grid row count (one spreadsheets.get for the tab's properties):
// no page starts past it, and a missing tab is an error rather than an empty dataset.
func (r *Reader) gridRows(ctx context.Context, tab string) (int, error) {
	var ss *sheets.Spreadsheet
	err := r.retry(ctx, func() (err error) {
		ss, err = r.Svc.Spreadsheets.Get(r.SpreadsheetID).Fields("sheets.properties(title,gridProperties.rowCount)").Context(ctx).Do()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("publish: spreadsheets.get: %w", err)
	}
	for _, sh := range ss.Sheets {
		if sh.Properties != nil && sh.Properties.Title == tab {
			if sh.Properties.GridProperties == nil {
				return 0, fmt.Errorf("publish: tab %s has no grid", tab)
			}
			return int(sh.Properties.GridProperties.RowCount), nil
		}
	}
	return 0, fmt.Errorf("publish: the spreadsheet has no tab %s", tab)
}

func (r *Reader) get(ctx context.Context, rng string) (*sheets.ValueRange, error) {
	var vr *sheets.ValueRange
	err := r.retry(ctx, func() (err error) {
		vr, err = r.Svc.Spreadsheets.Values.Get(r.SpreadsheetID, rng).
			ValueRenderOption("UNFORMATTED_VALUE").DateTimeRenderOption("SERIAL_NUMBER").
			MajorDimension("ROWS").Context(ctx).Do()
		return err
	})
	return vr, err
}

// retry runs a read, repeating it on quota (429) and server errors with a doubling backoff.
func (r *Reader) retry(ctx context.Context, f func() error) error {
	attempts, wait := r.Attempts, r.Backoff
	if attempts <= 0 {
		attempts = 5
	}
	if wait <= 0 {
		wait = time.Second
	}
	var err error
	for i := 0; i < attempts; i++ {
		r.requests++
		if err = f(); err == nil {
			return nil
		}
		var ge *googleapi.Error
		if ctx.Err() != nil || !errors.As(err, &ge) || (ge.Code != http.StatusTooManyRequests && ge.Code < 500) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
	return err
}

// colName is the A1 letters of the 0-based column i.
func colName(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}
