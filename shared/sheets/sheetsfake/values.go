package sheetsfake

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/sheets/v4"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// colName is the A1 letters of the 0-based column i.
func colName(i int64) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}

// parseRef parses "B12", "B" or "12" into 0-based row and column, -1 for a missing part.
func parseRef(s string) (row, col int64, err error) {
	row, col = -1, -1
	i := 0
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= 'a' && s[i] <= 'z') {
		i++
	}
	if i > 0 {
		col = 0
		for _, ch := range strings.ToUpper(s[:i]) {
			col = col*26 + int64(ch-'A'+1)
		}
		col--
	}
	if i < len(s) {
		n, perr := strconv.ParseInt(s[i:], 10, 64)
		if perr != nil || n < 1 {
			return 0, 0, fmt.Errorf("bad cell reference %q", s)
		}
		row = n - 1
	}
	if i == 0 && len(s) == 0 {
		return 0, 0, fmt.Errorf("empty cell reference")
	}
	return row, col, nil
}

// parseCells parses the cell part of an A1 range ("A2:A", "1:1", "B3") into 0-based start row
// and column and exclusive ends; -1 means unbounded.
func parseCells(s string) (r0, c0, r1, c1 int64, err error) {
	a, b, two := strings.Cut(s, ":")
	r0, c0, err = parseRef(a)
	if err != nil {
		return
	}
	if !two {
		if r0 < 0 || c0 < 0 {
			// "A" or "3" alone: a whole column or row
			r1, c1 = -1, -1
			if r0 >= 0 {
				r1 = r0 + 1
			}
			if c0 >= 0 {
				c1 = c0 + 1
			}
			return
		}
		return r0, c0, r0 + 1, c0 + 1, nil
	}
	var rr, cc int64
	rr, cc, err = parseRef(b)
	if err != nil {
		return
	}
	r1, c1 = -1, -1
	if rr >= 0 {
		r1 = rr + 1
	}
	if cc >= 0 {
		c1 = cc + 1
	}
	return
}

// span is a resolved range on a tab, ends exclusive and clipped to the grid.
type span struct {
	s              *sheet
	r0, c0, r1, c1 int64
}

func (p span) String() string {
	return quote(p.s.Title) + "!" + colName(p.c0) + itoa(p.r0+1) + ":" + colName(max(p.c1-1, p.c0)) + itoa(max(p.r1, p.r0+1))
}

func quote(t string) string {
	for _, ch := range t {
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_') {
			return "'" + strings.ReplaceAll(t, "'", "''") + "'"
		}
	}
	return t
}

// resolve parses an A1 range ("Tab!A2:A", "'Sync_Log'!A:P", "Tab", "A1:B2") on b.
func resolve(b *book, rng string) (span, *apiError) {
	title, cells := "", rng
	if strings.HasPrefix(rng, "'") {
		i := 1
		var sb strings.Builder
		for ; i < len(rng); i++ {
			if rng[i] == '\'' {
				if i+1 < len(rng) && rng[i+1] == '\'' {
					sb.WriteByte('\'')
					i++
					continue
				}
				break
			}
			sb.WriteByte(rng[i])
		}
		title, cells = sb.String(), strings.TrimPrefix(rng[min(i+1, len(rng)):], "!")
	} else if t, c, ok := strings.Cut(rng, "!"); ok {
		title, cells = t, c
	} else if _, s := b.byTitle(rng); s != nil {
		title, cells = rng, ""
	}
	var s *sheet
	if title == "" {
		if len(b.Sheets) == 0 {
			return span{}, errorf(400, "Unable to parse range: %s", rng)
		}
		s = b.Sheets[0]
	} else if _, s = b.byTitle(title); s == nil {
		return span{}, errorf(400, "Unable to parse range: %s", rng)
	}
	p := span{s: s, r1: s.RowCount, c1: s.ColCount}
	if cells == "" {
		return p, nil
	}
	r0, c0, r1, c1, err := parseCells(cells)
	if err != nil {
		return span{}, errorf(400, "Unable to parse range: %s", rng)
	}
	if r0 >= 0 {
		p.r0 = r0
	}
	if c0 >= 0 {
		p.c0 = c0
	}
	if r1 >= 0 {
		p.r1 = r1
	}
	if c1 >= 0 {
		p.c1 = c1
	}
	if p.r1 < p.r0 || p.c1 < p.c0 {
		p.r0, p.r1 = min(p.r0, p.r1), max(p.r0, p.r1)
		p.c0, p.c1 = min(p.c0, p.c1), max(p.c0, p.c1)
	}
	return p, nil
}

// render is a cell's value as the values API returns it.
func render(c Cell, valueOpt, dateOpt string) any {
	if !c.HasValue() {
		return ""
	}
	switch valueOpt {
	case "FORMULA":
		if c.Formula {
			return c.Value
		}
	case "UNFORMATTED_VALUE":
		if n, ok := c.Value.(float64); ok && dateOpt == "FORMATTED_STRING" && isDate(c.Format.Type) {
			return formatNumber(n, c.Format)
		}
		if c.Formula {
			return "" // formulas are not evaluated
		}
		return c.Value
	}
	return display(c)
}

func isDate(t string) bool { return t == "DATE" || t == "TIME" || t == "DATE_TIME" }

// display is the text a user sees in the cell.
func display(c Cell) string {
	switch v := c.Value.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "TRUE"
		}
		return "FALSE"
	case float64:
		return formatNumber(v, c.Format)
	}
	return fmt.Sprint(c.Value)
}

// formatNumber formats a number by its number format (a useful subset of Sheets patterns).
func formatNumber(n float64, f NumberFormat) string {
	switch f.Type {
	case "DATE", "TIME", "DATE_TIME":
		p := f.Pattern
		if p == "" {
			p = map[string]string{"DATE": "yyyy-mm-dd", "TIME": "hh:mm:ss", "DATE_TIME": "yyyy-mm-dd hh:mm:ss"}[f.Type]
		}
		return formatDate(fromSerial(n), p)
	case "NUMBER", "CURRENCY", "PERCENT", "SCIENTIFIC":
		p := f.Pattern
		if p == "" {
			p = "#,##0.00"
		}
		return formatDecimal(n, p)
	}
	return strconv.FormatFloat(n, 'f', -1, 64)
}

// formatDecimal supports patterns like "0", "0.00", "#,##0.00", "0.##", "0%".
func formatDecimal(n float64, p string) string {
	pct := strings.HasSuffix(p, "%")
	if pct {
		n *= 100
		p = strings.TrimSuffix(p, "%")
	}
	intPart, frac, _ := strings.Cut(p, ".")
	minDec, maxDec := strings.Count(frac, "0"), strings.Count(frac, "0")+strings.Count(frac, "#")
	s := strconv.FormatFloat(n, 'f', maxDec, 64)
	if maxDec > minDec {
		whole, dec, _ := strings.Cut(s, ".")
		dec = strings.TrimRight(dec, "0")
		for len(dec) < minDec {
			dec += "0"
		}
		s = whole
		if dec != "" || strings.Contains(p, ".") && minDec > 0 {
			s += "." + dec
		}
	}
	if strings.Contains(intPart, ",") {
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		whole, dec, hasDec := strings.Cut(s, ".")
		var b strings.Builder
		for i, ch := range whole {
			if i > 0 && (len(whole)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(ch)
		}
		s = b.String()
		if hasDec {
			s += "." + dec
		}
		if neg {
			s = "-" + s
		}
	}
	if pct {
		s += "%"
	}
	return s
}

// fromSerial turns a serial into a wall-clock time (UTC location), to the millisecond.
func fromSerial(serial float64) time.Time {
	days := math.Floor(serial)
	ms := int64(math.Round((serial - days) * 86400e3))
	return time.Date(1899, 12, 30+int(days), 0, 0, 0, int(ms)*int(time.Millisecond), time.UTC)
}

// serialOf is the serial of a wall-clock time.
func serialOf(t time.Time) float64 {
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24
	return math.Round(days) + float64(t.Hour()*3600+t.Minute()*60+t.Second())/86400
}

// formatDate formats t by a Sheets date pattern: yyyy yy mmmm mmm mm m dd d hh h ss am/pm.
func formatDate(t time.Time, p string) string {
	var b strings.Builder
	lower := strings.ToLower(p)
	ampm := strings.Contains(lower, "am/pm")
	lastWasHour := false
	run := func(i int) int {
		j := i
		for j < len(lower) && lower[j] == lower[i] {
			j++
		}
		return j - i
	}
	for i := 0; i < len(lower); {
		ch := lower[i]
		switch {
		case strings.HasPrefix(lower[i:], "am/pm"):
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
			i += 5
			continue
		case ch == 'y':
			n := run(i)
			if n <= 2 {
				fmt.Fprintf(&b, "%02d", t.Year()%100)
			} else {
				fmt.Fprintf(&b, "%04d", t.Year())
			}
			i += n
			continue
		case ch == 'm':
			n := run(i)
			minutes := lastWasHour || strings.HasPrefix(strings.TrimLeft(lower[i+n:], ":"), "s")
			switch {
			case minutes:
				fmt.Fprintf(&b, "%0*d", min(n, 2), t.Minute())
			case n >= 4:
				b.WriteString(t.Month().String())
			case n == 3:
				b.WriteString(t.Month().String()[:3])
			default:
				fmt.Fprintf(&b, "%0*d", n, int(t.Month()))
			}
			lastWasHour = false
			i += n
			continue
		case ch == 'd':
			n := run(i)
			switch {
			case n >= 4:
				b.WriteString(t.Weekday().String())
			case n == 3:
				b.WriteString(t.Weekday().String()[:3])
			default:
				fmt.Fprintf(&b, "%0*d", n, t.Day())
			}
			lastWasHour = false
			i += n
			continue
		case ch == 'h':
			n := run(i)
			h := t.Hour()
			if ampm {
				h = (h+11)%12 + 1
			}
			fmt.Fprintf(&b, "%0*d", min(n, 2), h)
			lastWasHour = true
			i += n
			continue
		case ch == 's':
			n := run(i)
			fmt.Fprintf(&b, "%0*d", min(n, 2), t.Second())
			lastWasHour = false
			i += n
			continue
		case ch == '"':
			j := strings.IndexByte(p[i+1:], '"')
			if j < 0 {
				j = len(p) - i - 1
			}
			b.WriteString(p[i+1 : i+1+j])
			i += j + 2
			continue
		}
		b.WriteByte(p[i])
		i++
	}
	return b.String()
}

func valueOpts(r *http.Request) (string, string) {
	q := r.URL.Query()
	v := q.Get("valueRenderOption")
	if v == "" {
		v = "FORMATTED_VALUE"
	}
	d := q.Get("dateTimeRenderOption")
	if d == "" {
		d = "SERIAL_NUMBER"
	}
	return v, d
}

// read returns a span's values, rows-major, with trailing empty cells and rows trimmed.
func read(p span, valueOpt, dateOpt, major string) map[string]any {
	r1 := min(p.r1, p.s.lastDataRow())
	var rows [][]any
	for r := p.r0; r < r1; r++ {
		var row []any
		last := -1
		for c := p.c0; c < p.c1; c++ {
			cell := p.s.get(r, c)
			v := render(cell, valueOpt, dateOpt)
			row = append(row, v)
			if v != "" {
				last = len(row) - 1
			}
		}
		rows = append(rows, row[:last+1])
	}
	for len(rows) > 0 && len(rows[len(rows)-1]) == 0 {
		rows = rows[:len(rows)-1]
	}
	if major == "COLUMNS" {
		var cols [][]any
		for _, row := range rows {
			for j, v := range row {
				for len(cols) <= j {
					cols = append(cols, nil)
				}
				for len(cols[j]) < len(rows) {
					cols[j] = append(cols[j], "")
				}
				_ = v
			}
		}
		for i, row := range rows {
			for j, v := range row {
				cols[j][i] = v
			}
		}
		for j := range cols {
			k := len(cols[j])
			for k > 0 && cols[j][k-1] == "" {
				k--
			}
			cols[j] = cols[j][:k]
		}
		rows = cols
	} else {
		major = "ROWS"
	}
	out := map[string]any{"range": p.String(), "majorDimension": major}
	if len(rows) > 0 {
		out["values"] = rows
	}
	return out
}

func (f *Fake) valuesGet(id, rng string, r *http.Request) (any, *apiError) {
	vo, do := valueOpts(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	b, e := f.lookup(id)
	if e != nil {
		return nil, e
	}
	p, e := resolve(b, rng)
	if e != nil {
		return nil, e
	}
	return read(p, vo, do, r.URL.Query().Get("majorDimension")), nil
}

func (f *Fake) valuesBatchGet(id string, r *http.Request) (any, *apiError) {
	vo, do := valueOpts(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	b, e := f.lookup(id)
	if e != nil {
		return nil, e
	}
	var out []any
	for _, rng := range r.URL.Query()["ranges"] {
		p, e := resolve(b, rng)
		if e != nil {
			return nil, e
		}
		out = append(out, read(p, vo, do, r.URL.Query().Get("majorDimension")))
	}
	return map[string]any{"spreadsheetId": id, "valueRanges": out}, nil
}

// input converts one value of a values write.
func input(v any, opt string) (Cell, bool) {
	switch x := v.(type) {
	case nil:
		return Cell{}, false // null leaves the cell as it is
	case string:
		if opt == "USER_ENTERED" {
			switch {
			case strings.HasPrefix(x, "="):
				return Cell{Value: x, Formula: true}, true
			case strings.EqualFold(x, "TRUE"), strings.EqualFold(x, "FALSE"):
				return Cell{Value: strings.EqualFold(x, "TRUE")}, true
			}
			if n, err := strconv.ParseFloat(strings.ReplaceAll(x, ",", ""), 64); err == nil {
				return Cell{Value: n}, true
			}
			for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02"} {
				if t, err := time.Parse(layout, x); err == nil {
					return Cell{Value: serialOf(t), Format: NumberFormat{Type: "DATE_TIME", Pattern: "yyyy-mm-dd hh:mm:ss"}}, true
				}
			}
			x = strings.TrimPrefix(x, "'")
		}
		return Cell{Value: x}, true
	case float64, bool:
		return Cell{Value: x}, true
	}
	return Cell{Value: fmt.Sprint(v)}, true
}

// write stores a values write at p's top-left corner, growing the grid.
func write(p span, values [][]any, opt, major string) (map[string]any, *apiError) {
	if opt != "RAW" && opt != "USER_ENTERED" {
		return nil, errorf(400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
	}
	if major == "COLUMNS" {
		var rows [][]any
		for j, col := range values {
			for i, v := range col {
				for len(rows) <= i {
					rows = append(rows, nil)
				}
				for len(rows[i]) < j {
					rows[i] = append(rows[i], nil)
				}
				rows[i] = append(rows[i], v)
			}
		}
		values = rows
	}
	nrows, ncols := int64(len(values)), int64(0)
	for _, row := range values {
		ncols = max(ncols, int64(len(row)))
	}
	if p.r1-p.r0 == 1 && p.c1-p.c0 == 1 {
		p.r1, p.c1 = math.MaxInt32, math.MaxInt32 // a single cell anchors the data
	}
	if p.r1-p.r0 < nrows || p.c1-p.c0 < ncols {
		return nil, errorf(400, "Requested writing within range [%s], but tried writing %d rows and %d columns", p, nrows, ncols)
	}
	s := p.s
	s.RowCount = max(s.RowCount, p.r0+nrows)
	s.ColCount = max(s.ColCount, p.c0+ncols)
	cells := 0
	for i, row := range values {
		for j, v := range row {
			c, ok := input(v, opt)
			if !ok {
				continue
			}
			cell := s.cell(p.r0+int64(i), p.c0+int64(j))
			cell.Value, cell.Formula = c.Value, c.Formula
			if c.Format.Type != "" {
				cell.Format = c.Format
			}
			cells++
		}
	}
	got := span{s: s, r0: p.r0, c0: p.c0, r1: p.r0 + nrows, c1: p.c0 + ncols}
	return map[string]any{"updatedRange": got.String(), "updatedRows": nrows, "updatedColumns": ncols, "updatedCells": cells}, nil
}

func (f *Fake) valuesUpdate(id, rng string, r *http.Request) (any, *apiError) {
	var vr sheets.ValueRange
	return f.mutate(id, r, &vr, func(t *txn) (any, *apiError) {
		p, e := t.span(rng)
		if e != nil {
			return nil, e
		}
		out, e := write(p, vr.Values, r.URL.Query().Get("valueInputOption"), vr.MajorDimension)
		if e != nil {
			return nil, e
		}
		out["spreadsheetId"] = id
		return out, nil
	})
}

// span resolves a range on a writable copy of its tab.
func (t *txn) span(rng string) (span, *apiError) {
	p, e := resolve(t.b, rng)
	if e != nil {
		return p, e
	}
	p.s, e = t.sheet(p.s.ID, "range")
	return p, e
}

func (f *Fake) valuesBatchUpdate(id string, r *http.Request) (any, *apiError) {
	var req sheets.BatchUpdateValuesRequest
	return f.mutate(id, r, &req, func(t *txn) (any, *apiError) {
		var resps []any
		total := 0
		for _, vr := range req.Data {
			p, e := t.span(vr.Range)
			if e != nil {
				return nil, e
			}
			out, e := write(p, vr.Values, req.ValueInputOption, vr.MajorDimension)
			if e != nil {
				return nil, e
			}
			total += out["updatedCells"].(int)
			resps = append(resps, out)
		}
		return map[string]any{"spreadsheetId": id, "totalUpdatedCells": total, "responses": resps}, nil
	})
}

func (f *Fake) valuesAppend(id, rng string, r *http.Request) (any, *apiError) {
	var vr sheets.ValueRange
	return f.mutate(id, r, &vr, func(t *txn) (any, *apiError) {
		p, e := t.span(rng)
		if e != nil {
			return nil, e
		}
		// The table is the data from the range's start; new rows go after its last row.
		start := max(p.r0, p.s.lastDataRow())
		table := span{s: p.s, r0: p.r0, c0: p.c0, r1: start, c1: p.c1}
		at := span{s: p.s, r0: start, c0: p.c0, r1: math.MaxInt32, c1: math.MaxInt32}
		out, e := write(at, vr.Values, r.URL.Query().Get("valueInputOption"), vr.MajorDimension)
		if e != nil {
			return nil, e
		}
		out["spreadsheetId"] = id
		res := map[string]any{"spreadsheetId": id, "updates": out}
		if start > p.r0 {
			res["tableRange"] = table.String()
		}
		return res, nil
	})
}

// valuesClear is spreadsheets.values.clear: the values (and formulas) in the range go, the
// cells' formats stay, the grid keeps its size.
func (f *Fake) valuesClear(id, rng string, r *http.Request) (any, *apiError) {
	var req sheets.ClearValuesRequest
	return f.mutate(id, r, &req, func(t *txn) (any, *apiError) {
		p, e := t.span(rng)
		if e != nil {
			return nil, e
		}
		p.r1, p.c1 = min(p.r1, p.s.RowCount), min(p.c1, p.s.ColCount)
		for i := p.r0; i < p.r1 && i < int64(len(p.s.Rows)); i++ {
			row := p.s.row(i)
			for j := p.c0; j < p.c1 && j < int64(len(row)); j++ {
				row[j].Value, row[j].Formula = nil, false
			}
		}
		return map[string]any{"spreadsheetId": id, "clearedRange": p.String()}, nil
	})
}
