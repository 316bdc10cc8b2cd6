// Package sheetsfake is an in-process Google Sheets API v4 server for tests and the local
// sandbox. It speaks the REST wire format the google.golang.org/api/sheets/v4 client sends —
// spreadsheets.get (ranges, includeGridData), spreadsheets.batchUpdate (addSheet, deleteSheet,
// updateSheetProperties, repeatCell, updateCells, appendCells, deleteDimension,
// insertDimension, appendDimension, updateDimensionProperties, addProtectedRange,
// deleteProtectedRange, copyPaste; includeSpreadsheetInResponse with responseRanges and
// responseIncludeGridData) and the values get / batchGet / update / batchUpdate / append / clear
// calls — with the real API's semantics: sub-requests apply in order and atomically, omitted
// numeric fields mean 0, grids grow on append, and errors use Google's JSON error shape.
// Fields masks are not applied (answers are a superset of what a mask keeps).
//
// Test hooks read a tab as typed cells or display strings, type into cells like a user,
// play people editing between a client's requests (OnRequest with SortRows, InsertRows,
// DeleteRows, InsertColumns — stopped by protected ranges unless done as the Owner) and
// simulate the per-minute write quota. Faults and request counts are a fakeapi.Control's
// (Inject, Requests): a Status fault answers Google's error JSON, and an AfterApply fault
// applies a write, then answers its error. Snapshot, Restore, Tabs and WithOnChange let a
// store keep the state (the CLI's devstack saves a JSON snapshot and an .xlsx per spreadsheet).
package sheetsfake

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"supportsync.dev/shared/fakeapi"
)

// NumberFormat is a cell's number format, as in the API (type DATE_TIME, NUMBER, TEXT, …).
type NumberFormat struct {
	Type    string `json:"type,omitempty"`
	Pattern string `json:"pattern,omitempty"`
}

// Cell is one stored cell: its value (nil, string, float64 or bool), whether the value is a
// formula (then Value is its text, never evaluated), its number format and bold font.
type Cell struct {
	Value   any          `json:"v,omitempty"`
	Formula bool         `json:"f,omitempty"`
	Format  NumberFormat `json:"nf,omitzero"`
	Bold    bool         `json:"b,omitempty"`
}

// HasValue reports whether the cell holds data (formats alone do not count).
func (c Cell) HasValue() bool {
	if c.Value == nil {
		return false
	}
	s, ok := c.Value.(string)
	return !ok || s != ""
}

// sheet is one tab.
type sheet struct {
	ID       int64    `json:"id"`
	Title    string   `json:"title"`
	RowCount int64    `json:"rowCount"`
	ColCount int64    `json:"columnCount"`
	Frozen   int64    `json:"frozenRowCount,omitempty"`
	Hidden   bool     `json:"hidden,omitempty"`
	Rows     [][]Cell `json:"rows,omitempty"`
	// Protected are the tab's protected ranges (see protect.go).
	Protected []protection `json:"protected,omitempty"`

	// owned, in a transaction's copy, holds the rows (by their first cell) the copy may write
	// in place; the others are shared with the committed tab and are copied before a write.
	// nil (a committed tab, written only under the Fake's lock) means every row.
	owned map[*Cell]bool
}

// clone returns a copy a transaction may change: the rows are shared until written (row), so
// a request costs what it touches, not what the tab holds, as with the real API.
func (s *sheet) clone() *sheet {
	c := *s
	c.Protected = append([]protection(nil), s.Protected...)
	c.Rows = append([][]Cell(nil), s.Rows...)
	c.owned = map[*Cell]bool{}
	return &c
}

// row returns the stored row r, growing the storage, ready to be written in place.
func (s *sheet) row(r int64) []Cell {
	for int64(len(s.Rows)) <= r {
		s.Rows = append(s.Rows, nil)
	}
	row := s.Rows[r]
	if s.owned != nil && len(row) > 0 && !s.owned[&row[0]] {
		row = append(make([]Cell, 0, len(row)), row...)
		s.Rows[r] = row
		s.owned[&row[0]] = true
	}
	return row
}

// cell returns a pointer to the stored cell at (r, c), growing the storage.
func (s *sheet) cell(r, c int64) *Cell {
	row := s.row(r) // owned now, unless empty
	if int64(len(row)) <= c {
		if len(row) == 0 && cap(row) > 0 {
			row = nil // an empty slice may share its array with the committed tab
		}
		row = append(row, make([]Cell, c+1-int64(len(row)))...)
		s.Rows[r] = row
		if s.owned != nil {
			s.owned[&row[0]] = true
		}
	}
	return &row[c]
}

// get returns the cell at (r, c), zero when not stored.
func (s *sheet) get(r, c int64) Cell {
	if r < int64(len(s.Rows)) && c < int64(len(s.Rows[r])) {
		return s.Rows[r][c]
	}
	return Cell{}
}

// lastDataRow is the index after the last row holding a value in any column (0 when none).
func (s *sheet) lastDataRow() int64 {
	for r := len(s.Rows) - 1; r >= 0; r-- {
		for _, c := range s.Rows[r] {
			if c.HasValue() {
				return int64(r + 1)
			}
		}
	}
	return 0
}

// book is one spreadsheet.
type book struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	TimeZone string   `json:"timeZone"`
	Sheets   []*sheet `json:"sheets"`
}

func (b *book) byID(id int64) (int, *sheet) {
	for i, s := range b.Sheets {
		if s.ID == id {
			return i, s
		}
	}
	return -1, nil
}

func (b *book) byTitle(t string) (int, *sheet) {
	for i, s := range b.Sheets {
		if strings.EqualFold(s.Title, t) {
			return i, s
		}
	}
	return -1, nil
}

// Option configures a Fake.
type Option func(*Fake)

// WithSpreadsheet creates an empty spreadsheet with the given id (one tab, "Sheet1", id 0, as
// the API creates it). A Fake answers 404 for any other id unless AutoCreate is set.
func WithSpreadsheet(id string) Option {
	return func(f *Fake) {
		if _, ok := f.books[id]; !ok {
			f.books[id] = newBook(id, f.tz)
		}
	}
}

// AutoCreate makes the Fake create a spreadsheet on first use of an unknown id.
func AutoCreate() Option { return func(f *Fake) { f.autoCreate = true } }

// WithTimeZone sets the time zone reported for new spreadsheets (default America/Halifax).
func WithTimeZone(tz string) Option { return func(f *Fake) { f.tz = tz } }

// WithQuota makes the Fake answer 429 RESOURCE_EXHAUSTED when a client (told apart by its
// Authorization header) sends more than perMinute write requests, or as many read requests, in
// a sliding minute, like the real per-user quota (60).
func WithQuota(perMinute int) Option { return func(f *Fake) { f.quota = perMinute } }

// WithClock sets the clock of the quota simulation (default time.Now).
func WithClock(now func() time.Time) Option { return func(f *Fake) { f.now = now } }

// The names a Fake gives requests, for Requests and fakeapi.Fault.Match: every request is
// named Reads (a GET) or Writes (any other method), and by its API method
// ("spreadsheets.get", "spreadsheets.values.append", …; see Call.Method).
const (
	Reads  = "read"
	Writes = "write"
)

// Fake is the Sheets API server, an http.Handler. It is safe for concurrent use. Its
// fakeapi.Control takes injected faults and counts requests by the names above.
type Fake struct {
	fakeapi.Control

	mu         sync.Mutex
	books      map[string]*book
	autoCreate bool
	tz         string
	hook       func(Call)
	calls      atomic.Int64
	nextProtID int64
	quota      int
	now        func() time.Time
	used       map[string][]time.Time // quota window per client and kind
	onChange   func(spreadsheetID string)
}

// New returns an in-memory Fake.
func New(opts ...Option) *Fake {
	f := &Fake{books: map[string]*book{}, tz: "America/Halifax", now: time.Now, used: map[string][]time.Time{}}
	for _, o := range opts {
		o(f)
	}
	return f
}

func newBook(id, tz string) *book {
	return &book{ID: id, Title: "supportsync " + id, TimeZone: tz,
		Sheets: []*sheet{{ID: 0, Title: "Sheet1", RowCount: 1000, ColCount: 26}}}
}

// Server is a Fake listening on a local HTTP port, for tests.
type Server struct {
	*Fake
	// URL is the endpoint to give the Sheets client (option.WithEndpoint(URL + "/")).
	URL string
	hs  *httptest.Server
}

// NewServer starts an in-memory Fake on a local port.
func NewServer(opts ...Option) *Server {
	f := New(opts...)
	hs := httptest.NewServer(f)
	return &Server{Fake: f, URL: hs.URL, hs: hs}
}

// Close stops the server.
func (s *Server) Close() { s.hs.Close() }

// Inject queues a fault (fakeapi.Control.Inject). An AfterApply fault without a Match
// waits for the next write: a read changes nothing to apply.
func (f *Fake) Inject(ft fakeapi.Fault) {
	if ft.Answer == fakeapi.AfterApply && ft.Match == "" {
		ft.Match = Writes
	}
	f.Control.Inject(ft)
}

// writeFault answers an injected fault's status in Google's JSON error shape; a 429 is the
// write quota's, with Retry-After.
func (f *Fake) writeFault(w http.ResponseWriter, ft fakeapi.Fault) {
	e := errorf(ft.Code, "injected fault")
	switch {
	case ft.Code == http.StatusTooManyRequests:
		e = errorf(429, "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user' of service 'sheets.googleapis.com' (injected)")
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	case ft.Answer == fakeapi.AfterApply:
		e = errorf(ft.Code, "injected fault after the request was applied")
	}
	writeErr(w, e)
}

// apiError is an error answered in Google's JSON shape.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Status, e.Message) }

func errorf(code int, format string, args ...any) *apiError {
	return &apiError{Code: code, Status: statusOf(code), Message: fmt.Sprintf(format, args...)}
}

func statusOf(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Code, map[string]any{"error": e})
}

const prefix = "/v4/spreadsheets/"

// ServeHTTP answers one Sheets API request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	read := r.Method == http.MethodGet
	f.runHook(r, read)
	class := Writes
	if read {
		class = Reads
	}
	f.Serve(w, r, []string{class, methodOf(r)}, f.writeFault, func(w http.ResponseWriter, r *http.Request) {
		f.serve(w, r, read)
	})
}

// serve answers a request as the API does.
func (f *Fake) serve(w http.ResponseWriter, r *http.Request, read bool) {
	if e := f.admit(r, read); e != nil {
		if e.Code == 429 {
			w.Header().Set("Retry-After", "1")
		}
		writeErr(w, e)
		return
	}
	path := r.URL.EscapedPath()
	if !strings.HasPrefix(path, prefix) {
		writeErr(w, errorf(404, "unknown path %s", r.URL.Path))
		return
	}
	rest := path[len(prefix):]
	id, tail, hasTail := strings.Cut(rest, "/")
	var call string
	if !hasTail {
		if i := strings.LastIndex(id, ":"); i >= 0 {
			id, call = id[:i], id[i+1:]
		}
	}
	id, err := url.PathUnescape(id)
	if err != nil {
		writeErr(w, errorf(400, "bad spreadsheet id"))
		return
	}
	var v any
	var e *apiError
	switch {
	case !hasTail && call == "" && r.Method == http.MethodGet:
		v, e = f.getSpreadsheet(id, r)
	case !hasTail && call == "batchUpdate" && r.Method == http.MethodPost:
		v, e = f.batchUpdate(id, r)
	case tail == "values:batchGet" && r.Method == http.MethodGet:
		v, e = f.valuesBatchGet(id, r)
	case tail == "values:batchUpdate" && r.Method == http.MethodPost:
		v, e = f.valuesBatchUpdate(id, r)
	case strings.HasPrefix(tail, "values/"):
		rng := tail[len("values/"):]
		appendCall := strings.HasSuffix(rng, ":append") && r.Method == http.MethodPost
		clearCall := strings.HasSuffix(rng, ":clear") && r.Method == http.MethodPost
		if appendCall {
			rng = strings.TrimSuffix(rng, ":append")
		}
		if clearCall {
			rng = strings.TrimSuffix(rng, ":clear")
		}
		if rng, err = url.PathUnescape(rng); err != nil {
			e = errorf(400, "bad range")
			break
		}
		switch {
		case appendCall:
			v, e = f.valuesAppend(id, rng, r)
		case clearCall:
			v, e = f.valuesClear(id, rng, r)
		case r.Method == http.MethodGet:
			v, e = f.valuesGet(id, rng, r)
		case r.Method == http.MethodPut:
			v, e = f.valuesUpdate(id, rng, r)
		default:
			e = errorf(404, "unsupported method %s %s", r.Method, r.URL.Path)
		}
	default:
		e = errorf(404, "unsupported method %s %s", r.Method, r.URL.Path)
	}
	if e != nil {
		writeErr(w, e)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// admit applies the quota.
func (f *Fake) admit(r *http.Request, read bool) *apiError {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.quota <= 0 {
		return nil
	}
	kind := "Write"
	if read {
		kind = "Read"
	}
	key := kind + " " + r.Header.Get("Authorization")
	now := f.now()
	win := f.used[key]
	for len(win) > 0 && now.Sub(win[0]) >= time.Minute {
		win = win[1:]
	}
	if len(win) >= f.quota {
		f.used[key] = win
		return errorf(429, "Quota exceeded for quota metric '%s requests' and limit '%s requests per minute per user' of service 'sheets.googleapis.com'", kind, kind)
	}
	f.used[key] = append(win, now)
	return nil
}

// lookup returns the spreadsheet, creating it when AutoCreate is set. f.mu must be held.
func (f *Fake) lookup(id string) (*book, *apiError) {
	b, ok := f.books[id]
	if !ok {
		if !f.autoCreate || id == "" {
			return nil, errorf(404, "Requested entity was not found.")
		}
		b = newBook(id, f.tz)
		f.books[id] = b
	}
	return b, nil
}

type sheetPropsJSON struct {
	SheetID        int64          `json:"sheetId"`
	Title          string         `json:"title"`
	Index          int            `json:"index"`
	SheetType      string         `json:"sheetType"`
	GridProperties map[string]any `json:"gridProperties"`
	Hidden         bool           `json:"hidden,omitempty"`
}

func props(s *sheet, index int) sheetPropsJSON {
	gp := map[string]any{"rowCount": s.RowCount, "columnCount": s.ColCount}
	if s.Frozen > 0 {
		gp["frozenRowCount"] = s.Frozen
	}
	return sheetPropsJSON{SheetID: s.ID, Title: s.Title, Index: index, SheetType: "GRID", GridProperties: gp, Hidden: s.Hidden}
}

func (f *Fake) getSpreadsheet(id string, r *http.Request) (any, *apiError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, e := f.lookup(id)
	if e != nil {
		return nil, e
	}
	q := r.URL.Query()
	return spreadsheetJSON(b, q["ranges"], q.Get("includeGridData") == "true")
}

// spreadsheetJSON is the Spreadsheet resource: every tab's properties and protected ranges and,
// when ranges are given, only the tabs they name, with their cells when gridData is set (the
// fake does not apply a fields mask: it answers a superset of what a mask would keep).
func spreadsheetJSON(b *book, ranges []string, gridData bool) (map[string]any, *apiError) {
	var spans []span
	for _, rng := range ranges {
		p, e := resolve(b, rng)
		if e != nil {
			return nil, e
		}
		spans = append(spans, p)
	}
	var shs []any
	for i, s := range b.Sheets {
		var mine []span
		for _, p := range spans {
			if p.s == s {
				mine = append(mine, p)
			}
		}
		if len(spans) > 0 && len(mine) == 0 {
			continue
		}
		sh := map[string]any{"properties": props(s, i)}
		if len(s.Protected) > 0 {
			var prs []any
			for _, pr := range s.Protected {
				prs = append(prs, pr.json(s.ID))
			}
			sh["protectedRanges"] = prs
		}
		if gridData {
			var data []any
			for _, p := range mine {
				data = append(data, gridDataJSON(p))
			}
			sh["data"] = data
		}
		shs = append(shs, sh)
	}
	return map[string]any{
		"spreadsheetId":  b.ID,
		"properties":     map[string]any{"title": b.Title, "locale": "en_US", "timeZone": b.TimeZone},
		"sheets":         shs,
		"spreadsheetUrl": "https://docs.google.com/spreadsheets/d/" + b.ID + "/edit",
	}, nil
}

// SheetInfo describes a tab.
type SheetInfo struct {
	ID, RowCount, ColumnCount, FrozenRowCount int64
	Index                                     int
}

// Sheet returns a tab's properties.
func (f *Fake) Sheet(spreadsheetID, tab string) (SheetInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.books[spreadsheetID]
	if !ok {
		return SheetInfo{}, false
	}
	i, s := b.byTitle(tab)
	if s == nil {
		return SheetInfo{}, false
	}
	return SheetInfo{ID: s.ID, RowCount: s.RowCount, ColumnCount: s.ColCount, FrozenRowCount: s.Frozen, Index: i}, true
}

// DeleteTab removes a tab, as a user would.
func (f *Fake) DeleteTab(spreadsheetID, tab string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.books[spreadsheetID]
	if !ok {
		return fmt.Errorf("sheetsfake: no spreadsheet %q", spreadsheetID)
	}
	i, s := b.byTitle(tab)
	if s == nil {
		return fmt.Errorf("sheetsfake: no tab %q", tab)
	}
	b.Sheets = append(b.Sheets[:i:i], b.Sheets[i+1:]...)
	f.changed(spreadsheetID)
	return nil
}

// Cells returns a tab's stored cells from A1, up to the last row and column holding a value.
func (f *Fake) Cells(spreadsheetID, tab string) ([][]Cell, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.tab(spreadsheetID, tab)
	if err != nil {
		return nil, err
	}
	nr, nc := extent(s)
	out := make([][]Cell, nr)
	for r := range out {
		out[r] = make([]Cell, nc)
		for c := range out[r] {
			out[r][c] = s.get(int64(r), int64(c))
		}
	}
	return out, nil
}

// Display returns a tab's cells as a user sees them (dates by their pattern, numbers by their
// format, TRUE / FALSE), from A1 up to the last row and column holding a value.
func (f *Fake) Display(spreadsheetID, tab string) ([][]string, error) {
	cells, err := f.Cells(spreadsheetID, tab)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(cells))
	for r, row := range cells {
		out[r] = make([]string, len(row))
		for c, cell := range row {
			out[r][c] = display(cell)
		}
	}
	return out, nil
}

// SetCell types a value (nil, string, float64, int or bool) into a cell given in A1 notation,
// as a user would, keeping the cell's format; strings are stored as text.
func (f *Fake) SetCell(spreadsheetID, tab, a1 string, v any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.tab(spreadsheetID, tab)
	if err != nil {
		return err
	}
	r0, c0, _, _, err := parseCells(a1)
	if err != nil {
		return err
	}
	if r0 < 0 {
		r0 = 0
	}
	if c0 < 0 {
		c0 = 0
	}
	if r0 >= s.RowCount || c0 >= s.ColCount {
		return fmt.Errorf("sheetsfake: %s is outside the grid of %q", a1, tab)
	}
	if i, ok := v.(int); ok {
		v = float64(i)
	}
	c := s.cell(r0, c0)
	c.Value, c.Formula = v, false
	f.changed(spreadsheetID)
	return nil
}

func (f *Fake) tab(spreadsheetID, tab string) (*sheet, error) {
	b, ok := f.books[spreadsheetID]
	if !ok {
		return nil, fmt.Errorf("sheetsfake: no spreadsheet %q", spreadsheetID)
	}
	_, s := b.byTitle(tab)
	if s == nil {
		return nil, fmt.Errorf("sheetsfake: no tab %q in %q", tab, spreadsheetID)
	}
	return s, nil
}

// extent is the number of rows and columns up to the last value.
func extent(s *sheet) (rows, cols int) {
	rows = int(s.lastDataRow())
	for r := 0; r < rows; r++ {
		for c := len(s.Rows[r]) - 1; c >= cols; c-- {
			if s.Rows[r][c].HasValue() {
				cols = c + 1
				break
			}
		}
	}
	return rows, cols
}

// newSheetID picks an unused sheet id.
func newSheetID(b *book) int64 {
	for {
		id := rand.Int64N(1<<31-1) + 1
		if _, s := b.byID(id); s == nil {
			return id
		}
	}
}

// Serve starts an existing Fake on a local port.
func Serve(f *Fake) *Server {
	hs := httptest.NewServer(f)
	return &Server{Fake: f, URL: hs.URL, hs: hs}
}
