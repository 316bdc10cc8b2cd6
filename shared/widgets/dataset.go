// Package widgets holds the widget dataset and the widget computations: a compact, columnar
// copy of the Tickets and Chats tabs (only the columns the widgets read: no subjects, rating
// comments or customer text), the filters a widget request may carry, and every widget of the
// DESIGN.md "Widget data contract". It is pure: no I/O, no clock (callers pass today's date).
//
// Date-times in the sheet are wall-clock times in the team timezone, so a row's local date and
// hour are its cell's date and hour; they are derived once when a dataset is built or decoded,
// and a query scans flat slices.
package widgets

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"time"

	"supportsync.dev/shared/table"
)

// NoTime marks an empty date-time cell in a wall-clock column.
const NoTime = math.MinInt64

// noDay marks an empty date in a day column.
const noDay = math.MinInt32

// Handled By values, as stored in ChatCols.HandledBy.
const (
	handledOther uint8 = iota
	handledBot
	handledBotHuman
	handledHuman
	handledUnanswered
)

// handledLabels are the Chats tab's Handled By values, by code.
var handledLabels = [...]string{handledBot: "Bot", handledBotHuman: "Bot → Human", handledHuman: "Human", handledUnanswered: "Unanswered"}

// Ratings as stored in ChatCols.Rating.
const (
	ratingNone uint8 = iota
	ratingGood
	ratingBad
)

// TicketCols are the Tickets tab's widget columns, one entry per row. Wall-clock date-times
// are Unix seconds of the cell's wall clock read as UTC (NoTime when empty); durations are
// seconds (NaN when empty); Pipeline and Agent index Data.Names.
type TicketCols struct {
	Created, Closed, FirstReply []int64
	FirstResponse, TimeToClose  []float64
	Open, Weekend               []bool
	Pipeline, Agent             []uint32
}

// ChatCols are the Chats tab's widget columns, one entry per thread (see TicketCols).
type ChatCols struct {
	Started                                []int64
	FirstResponse, FirstHumanResponse, Dur []float64
	HandledBy, Rating                      []uint8
	Transferred, Weekend                   []bool
	Bot, Agent                             []uint32
}

// Data is what publish stores: the columns and the dictionary of labels and names they index
// (Names[0] is the empty string).
type Data struct {
	// Timezone is the team timezone the wall clocks are in.
	Timezone string
	// AsOf is when the newest run in the dataset finished.
	AsOf time.Time
	// Names holds every pipeline label, agent and bot name the columns reference.
	Names   []string
	Tickets TicketCols
	Chats   ChatCols
}

// Dataset is a loaded dataset ready for queries: Data plus what is derived from it.
type Dataset struct {
	Data
	// Version identifies the published dataset ("dataset" in responses).
	Version string
	loc     *time.Location
	names   map[string]uint32

	// Tickets: local dates (days since 1970-01-01), created hour, created instant (Unix s).
	tCreatedDay, tClosedDay, tReplyDay []int32
	tCreatedHour                       []uint8
	tCreatedAt                         []int64
	// pipes lists the distinct pipeline labels (Names indexes); tPipe is each ticket's
	// position in it.
	pipes []uint32
	tPipe []uint16
	// Chats: local start date and hour.
	cStartedDay  []int32
	cStartedHour []uint8
}

// Builder turns sheet rows into Data, a row at a time (pages of a large tab need not be held).
type Builder struct {
	data  Data
	names map[string]uint32
	// Skipped counts rows without a key (blank rows a person left).
	Skipped int
}

// NewBuilder returns a Builder for rows whose date-times are in the named team timezone.
func NewBuilder(timezone string) *Builder {
	return &Builder{data: Data{Timezone: timezone, Names: []string{""}}, names: map[string]uint32{"": 0}}
}

func (b *Builder) name(s string) uint32 {
	if i, ok := b.names[s]; ok {
		return i
	}
	i := uint32(len(b.data.Names))
	b.data.Names = append(b.data.Names, s)
	b.names[s] = i
	return i
}

// wall returns the Unix seconds of a date-time cell's wall clock, or NoTime.
func wall(c table.Cell) int64 {
	if c.Kind != table.DateTime {
		return NoTime
	}
	y, m, d := c.T.Date()
	h, mi, s := c.T.Clock()
	return time.Date(y, m, d, h, mi, s, 0, time.UTC).Unix()
}

// seconds returns a number cell times scale (unrounded, so the medians are exact), or NaN
// when the cell is not a number.
func seconds(c table.Cell, scale float64) float64 {
	if c.Kind != table.Number || math.IsNaN(c.N) || math.IsInf(c.N, 0) {
		return math.NaN()
	}
	return c.N * scale
}

func text(c table.Cell) string {
	if c.Kind == table.Empty {
		return ""
	}
	return c.String()
}

func cell(r table.Row, i int) table.Cell {
	if i < len(r) {
		return r[i]
	}
	return table.Cell{}
}

// Column positions in the contract tabs.
var (
	tPipeline   = table.Tickets.Index("Pipeline")
	tStatus     = table.Tickets.Index("Status")
	tAgent      = table.Tickets.Index("Agent")
	tCreated    = table.Tickets.Index("Created")
	tClosed     = table.Tickets.Index("Closed")
	tReply      = table.Tickets.Index("First Agent Reply")
	tFRMinutes  = table.Tickets.Index("First Response Minutes")
	tTTCHours   = table.Tickets.Index("Time To Close Hours")
	tWeekend    = table.Tickets.Index("Weekend")
	cStarted    = table.Chats.Index("Started")
	cDuration   = table.Chats.Index("Duration Minutes")
	cHandledBy  = table.Chats.Index("Handled By")
	cBot        = table.Chats.Index("Bot")
	cAgent      = table.Chats.Index("Agent")
	cTransfer   = table.Chats.Index("Transferred")
	cFirstResp  = table.Chats.Index("First Response Seconds")
	cFirstHuman = table.Chats.Index("First Human Response Seconds")
	cRating     = table.Chats.Index("Rating")
	cWeekend    = table.Chats.Index("Weekend")
)

// AddTicket adds one Tickets row (cells in table.Tickets column order). A row without a key is
// skipped and counted.
func (b *Builder) AddTicket(r table.Row) {
	if r.Key() == "" {
		b.Skipped++
		return
	}
	t := &b.data.Tickets
	t.Created = append(t.Created, wall(cell(r, tCreated)))
	t.Closed = append(t.Closed, wall(cell(r, tClosed)))
	t.FirstReply = append(t.FirstReply, wall(cell(r, tReply)))
	t.FirstResponse = append(t.FirstResponse, seconds(cell(r, tFRMinutes), 60))
	t.TimeToClose = append(t.TimeToClose, seconds(cell(r, tTTCHours), 3600))
	t.Open = append(t.Open, text(cell(r, tStatus)) == "Open")
	w := cell(r, tWeekend)
	t.Weekend = append(t.Weekend, w.Kind == table.Bool && w.B)
	t.Pipeline = append(t.Pipeline, b.name(text(cell(r, tPipeline))))
	t.Agent = append(t.Agent, b.name(text(cell(r, tAgent))))
}

// AddChat adds one Chats row (cells in table.Chats column order). A row without a key is
// skipped and counted.
func (b *Builder) AddChat(r table.Row) {
	if r.Key() == "" {
		b.Skipped++
		return
	}
	c := &b.data.Chats
	c.Started = append(c.Started, wall(cell(r, cStarted)))
	c.FirstResponse = append(c.FirstResponse, seconds(cell(r, cFirstResp), 1))
	c.FirstHumanResponse = append(c.FirstHumanResponse, seconds(cell(r, cFirstHuman), 1))
	c.Dur = append(c.Dur, seconds(cell(r, cDuration), 60))
	var h uint8
	switch text(cell(r, cHandledBy)) {
	case "Bot":
		h = handledBot
	case "Bot → Human":
		h = handledBotHuman
	case "Human":
		h = handledHuman
	case "Unanswered":
		h = handledUnanswered
	}
	c.HandledBy = append(c.HandledBy, h)
	var rt uint8
	switch text(cell(r, cRating)) {
	case "good":
		rt = ratingGood
	case "bad":
		rt = ratingBad
	}
	c.Rating = append(c.Rating, rt)
	tr, w := cell(r, cTransfer), cell(r, cWeekend)
	c.Transferred = append(c.Transferred, tr.Kind == table.Bool && tr.B)
	c.Weekend = append(c.Weekend, w.Kind == table.Bool && w.B)
	c.Bot = append(c.Bot, b.name(text(cell(r, cBot))))
	c.Agent = append(c.Agent, b.name(text(cell(r, cAgent))))
}

// Data returns what was built, stamped with asOf.
func (b *Builder) Data(asOf time.Time) Data {
	d := b.data
	d.AsOf = asOf.UTC()
	return d
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian date.
func daysFromCivil(y, m, d int) int32 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}

// dayOf returns the local date of a wall-clock second count, as days since 1970-01-01.
func dayOf(w int64) int32 {
	if w == NoTime {
		return noDay
	}
	return int32(floorDiv(w, 86400))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// dateOf renders a day number as YYYY-MM-DD.
func dateOf(day int32) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format(time.DateOnly)
}

// weekday returns the day's weekday, Monday = 0.
func weekday(day int32) int {
	return int((int64(day)%7 + 7 + 3) % 7)
}

// Load derives the query columns from d and returns a Dataset with the given version.
func Load(d Data, version string) (*Dataset, error) {
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		return nil, fmt.Errorf("widgets: dataset timezone: %w", err)
	}
	if len(d.Names) == 0 || d.Names[0] != "" {
		return nil, fmt.Errorf("widgets: dataset names must start with the empty string")
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	ds := &Dataset{Data: d, Version: version, loc: loc, names: make(map[string]uint32, len(d.Names))}
	for i, n := range d.Names {
		if _, ok := ds.names[n]; !ok {
			ds.names[n] = uint32(i)
		}
	}
	t := &d.Tickets
	n := len(t.Created)
	ds.tCreatedDay, ds.tClosedDay, ds.tReplyDay = make([]int32, n), make([]int32, n), make([]int32, n)
	ds.tCreatedHour, ds.tCreatedAt = make([]uint8, n), make([]int64, n)
	ds.tPipe = make([]uint16, n)
	pipeAt := map[uint32]uint16{}
	for i := range n {
		p, ok := pipeAt[t.Pipeline[i]]
		if !ok {
			if len(ds.pipes) > math.MaxUint16 {
				return nil, fmt.Errorf("widgets: more than %d pipelines", math.MaxUint16)
			}
			p = uint16(len(ds.pipes))
			pipeAt[t.Pipeline[i]] = p
			ds.pipes = append(ds.pipes, t.Pipeline[i])
		}
		ds.tPipe[i] = p
		ds.tCreatedDay[i], ds.tClosedDay[i], ds.tReplyDay[i] = dayOf(t.Created[i]), dayOf(t.Closed[i]), dayOf(t.FirstReply[i])
		ds.tCreatedAt[i] = NoTime
		if w := t.Created[i]; w != NoTime {
			ds.tCreatedHour[i] = uint8(floorDiv(w, 3600) - floorDiv(w, 86400)*24)
			if t.Open[i] {
				u := time.Unix(w, 0).UTC()
				ds.tCreatedAt[i] = time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), 0, loc).Unix()
			}
		}
	}
	c := &d.Chats
	m := len(c.Started)
	ds.cStartedDay, ds.cStartedHour = make([]int32, m), make([]uint8, m)
	for i := range m {
		ds.cStartedDay[i] = dayOf(c.Started[i])
		if w := c.Started[i]; w != NoTime {
			ds.cStartedHour[i] = uint8(floorDiv(w, 3600) - floorDiv(w, 86400)*24)
		}
	}
	return ds, nil
}

// check verifies that every column has one entry per row and every name index is in range,
// so a corrupt dataset fails at load, not in a query.
func (d *Data) check() error {
	t, c := &d.Tickets, &d.Chats
	n, m := len(t.Created), len(c.Started)
	for _, l := range []int{len(t.Closed), len(t.FirstReply), len(t.FirstResponse), len(t.TimeToClose), len(t.Open), len(t.Weekend), len(t.Pipeline), len(t.Agent)} {
		if l != n {
			return fmt.Errorf("widgets: ticket columns have different lengths (%d and %d)", l, n)
		}
	}
	for _, l := range []int{len(c.FirstResponse), len(c.FirstHumanResponse), len(c.Dur), len(c.HandledBy), len(c.Rating), len(c.Transferred), len(c.Weekend), len(c.Bot), len(c.Agent)} {
		if l != m {
			return fmt.Errorf("widgets: chat columns have different lengths (%d and %d)", l, m)
		}
	}
	max := uint32(len(d.Names))
	for _, col := range [][]uint32{t.Pipeline, t.Agent, c.Bot, c.Agent} {
		for _, v := range col {
			if v >= max {
				return fmt.Errorf("widgets: name index %d out of range (%d names)", v, max)
			}
		}
	}
	return nil
}

// Rows returns the number of tickets and chats.
func (ds *Dataset) Rows() (tickets, chats int) { return len(ds.Tickets.Created), len(ds.Chats.Started) }

// Location returns the team timezone.
func (ds *Dataset) Location() *time.Location { return ds.loc }

// Encode serializes d compactly (gob, gzip-compressed) for storage.
func Encode(d Data) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("widgets.Encode: %w", err)
	}
	if err := gob.NewEncoder(zw).Encode(&d); err != nil {
		return nil, fmt.Errorf("widgets.Encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("widgets.Encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Decode reverses Encode.
func Decode(b []byte) (Data, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return Data{}, fmt.Errorf("widgets.Decode: %w", err)
	}
	var d Data
	if err := gob.NewDecoder(zr).Decode(&d); err != nil {
		return Data{}, fmt.Errorf("widgets.Decode: %w", err)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return Data{}, fmt.Errorf("widgets.Decode: %w", err)
	}
	// gob leaves empty slices nil; Names always holds "".
	if len(d.Names) == 0 {
		d.Names = []string{""}
	}
	return d, nil
}
