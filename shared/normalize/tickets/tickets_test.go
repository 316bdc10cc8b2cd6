package tickets

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/normalize"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

// The -update flag rewrites golden files. Another test file of this package may define it
// too, so it is registered only if nobody has yet and read through the flag package.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// ticketSyncedAt is the sync time of every golden case (a Thursday, AST).
var ticketSyncedAt = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func ticketTeam(t testing.TB) *team.Config {
	t.Helper()
	tc, err := team.Load(filepath.Join("testdata", "tickets", "team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

func readTicketPayload(t testing.TB, path string) hubspot.Payload {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p hubspot.Payload
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// renderTickets renders a normalize.Result for a golden file: every row cell by cell with its kind,
// then the excluded keys, rejections and warnings.
func renderTickets(r normalize.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rows %d, excluded %d, rejected %d, warnings %d\n",
		len(r.Rows), len(r.Excluded), len(r.Rejected), r.Warnings)
	cols := table.Tickets.Columns
	for i, row := range r.Rows {
		fmt.Fprintf(&b, "\nrow %d: %s\n", i+1, row.Key())
		for j, c := range row {
			v := c.String()
			if len(v) > 120 {
				v = fmt.Sprintf("%s… (%d bytes)", string([]rune(v)[:100]), len(v))
			}
			fmt.Fprintf(&b, "  %-22s %-8s %s\n", cols[j].Name, c.Kind, strconv.Quote(v))
		}
	}
	b.WriteString("\nexcluded:\n")
	for _, k := range r.Excluded {
		fmt.Fprintf(&b, "  %s\n", k)
	}
	b.WriteString("\nrejected:\n")
	for _, rj := range r.Rejected {
		fmt.Fprintf(&b, "  %q: %s\n", rj.ID, rj.Reason)
	}
	b.WriteString("\nwarnings:\n")
	for _, w := range r.WarningSamples {
		fmt.Fprintf(&b, "  %s\n", w)
	}
	return b.String()
}

func TestTicketsGolden(t *testing.T) {
	tc := ticketTeam(t)
	inputs, err := filepath.Glob(filepath.Join("testdata", "tickets", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden inputs in testdata/tickets")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			p := readTicketPayload(t, in)
			res := Normalize(p, tc, ticketSyncedAt)
			checkTicketRows(t, res)
			got := renderTickets(res)
			golden := strings.TrimSuffix(in, ".json") + ".golden"
			if updateGolden() {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// checkTicketRows checks the invariants every result holds: full rows, cells of their
// column's kind, date-times in the team timezone, one row per key, no row for an excluded key.
func checkTicketRows(t *testing.T, r normalize.Result) {
	t.Helper()
	keys := map[string]bool{}
	for _, row := range r.Rows {
		if len(row) != len(table.Tickets.Columns) {
			t.Fatalf("row %s has %d cells, want %d", row.Key(), len(row), len(table.Tickets.Columns))
		}
		for j, c := range row {
			col := table.Tickets.Columns[j]
			if c.Kind != table.Empty && c.Kind != col.Kind {
				t.Errorf("row %s: %s is %s, want %s", row.Key(), col.Name, c.Kind, col.Kind)
			}
			if c.Kind == table.DateTime && c.T.Location().String() != "America/Halifax" {
				t.Errorf("row %s: %s in %s, want America/Halifax", row.Key(), col.Name, c.T.Location())
			}
		}
		for _, j := range []int{tcPipeline, tcStage, tcAgent} {
			if s := row[j].S; ticketDigits(s) {
				t.Errorf("row %s: %s is a bare id %q", row.Key(), table.Tickets.Columns[j].Name, s)
			}
		}
		if row[tcAgent].Kind == table.Empty || row[tcStatus].Kind == table.Empty || row[tcSyncedAt].Kind == table.Empty {
			t.Errorf("row %s: Agent, Status and Synced At are never empty", row.Key())
		}
		if keys[row.Key()] {
			t.Errorf("key %s appears twice", row.Key())
		}
		keys[row.Key()] = true
	}
	for _, k := range r.Excluded {
		if keys[k] {
			t.Errorf("excluded key %s is also a row", k)
		}
	}
}

func TestTicketsNilTeamUsesDefault(t *testing.T) {
	p := hubspot.Payload{Tickets: []hubspot.Ticket{{ID: "1", Properties: map[string]*string{
		"createdate": tkStr("2026-03-14T02:30:00Z"), "hubspot_owner_id": tkStr("77"),
	}}}, Owners: []hubspot.Owner{{ID: "77", FirstName: "Ann", LastName: "Lee"}}}
	r := Normalize(p, nil, ticketSyncedAt)
	if len(r.Rows) != 1 {
		t.Fatalf("rows = %d, want 1", len(r.Rows))
	}
	row := r.Rows[0]
	if got := row[tcCreated].String(); got != "2026-03-13 23:30:00" {
		t.Errorf("Created = %s, want Halifax wall time 2026-03-13 23:30:00", got)
	}
	if got := row[tcAgent].String(); got != "Ann Lee" {
		t.Errorf("Agent = %s, want Ann Lee", got)
	}
	if got := row[tcSyncedAt].String(); got != "2026-11-26 06:00:00" {
		t.Errorf("Synced At = %s, want 2026-11-26 06:00:00", got)
	}
}

func TestTicketsEmptyPayload(t *testing.T) {
	r := Normalize(hubspot.Payload{}, ticketTeam(t), ticketSyncedAt)
	if len(r.Rows) != 0 || len(r.Excluded) != 0 || len(r.Rejected) != 0 || r.Warnings != 0 {
		t.Errorf("empty payload gave %+v", r)
	}
}

func TestTicketsWarningSamplesBounded(t *testing.T) {
	var p hubspot.Payload
	for i := range 100 {
		p.Tickets = append(p.Tickets, hubspot.Ticket{ID: strconv.Itoa(i), Properties: map[string]*string{
			"createdate": tkStr("Unknown"), "closed_date": tkStr("garbage"),
		}})
	}
	r := Normalize(p, ticketTeam(t), ticketSyncedAt)
	if r.Warnings != 200 { // createdate and closed_date: one warning per bad value
		t.Errorf("Warnings = %d, want 200", r.Warnings)
	}
	if len(r.WarningSamples) != normalize.MaxWarningSamples {
		t.Errorf("WarningSamples = %d, want %d", len(r.WarningSamples), normalize.MaxWarningSamples)
	}
	if len(r.Rows) != 100 {
		t.Errorf("rows = %d, want 100: bad values never reject", len(r.Rows))
	}
}

func TestTicketsDoesNotModifyPayload(t *testing.T) {
	p := readTicketPayload(t, filepath.Join("testdata", "tickets", "keys.json"))
	before, _ := json.Marshal(p)
	Normalize(p, ticketTeam(t), ticketSyncedAt)
	after, _ := json.Marshal(p)
	if string(before) != string(after) {
		t.Error("Tickets modified its input")
	}
}

func TestParseTicketTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC; "" means not ok
	}{
		{"2026-03-02T14:05:09.331Z", "2026-03-02T14:05:09.331Z"},
		{"2026-03-02T14:05:09Z", "2026-03-02T14:05:09Z"},
		{" 2026-03-02T10:05:09-04:00 ", "2026-03-02T14:05:09Z"},
		{"1772460309331", "2026-03-02T14:05:09.331Z"},
		{"946684800000", "2000-01-01T00:00:00Z"},
		{"946684799999", ""},
		{"4133980800000", ""}, // 2101-01-01
		{"4133980799999", "2100-12-31T23:59:59.999Z"},
		{"1772460309", ""}, // epoch seconds read as ms: 1970
		{"99999999999999999999", ""},
		{"", ""},
		{"Unknown", ""},
		{"2026-03-02", ""},
		{"2026-03-02 14:05:09", ""},
		{"-1772460309331", ""},
		{"1999-12-31T23:59:59Z", ""},
		{"2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z"},
		{"2101-01-01T00:00:00Z", ""},
	}
	for _, tt := range tests {
		got, ok := parseTicketTime(tt.in)
		gotS := ""
		if ok {
			gotS = got.UTC().Format(time.RFC3339Nano)
		}
		if gotS != tt.want {
			t.Errorf("parseTicketTime(%q) = %q, want %q", tt.in, gotS, tt.want)
		}
	}
}

func TestTicketDurations(t *testing.T) {
	tests := []struct {
		ms             string
		minutes, hours string // Cell.String(); "" empty
		warnings       int
	}{
		{"", "", "", 0},
		{"0", "0", "0", 0},
		{"60000", "1", "0.02", 0},
		{"90000", "1.5", "0.03", 0},
		{"68989539", "1149.83", "19.16", 0},
		{"299", "0", "0", 0},
		{"300", "0.01", "0", 0},
		{"17999", "0.3", "0", 0},
		{"18000", "0.3", "0.01", 0},
		{"1.5e6", "25", "0.42", 0},
		{"-1", "", "", 2},
		{"abc", "", "", 2},
		{"NaN", "", "", 2},
		{"+Inf", "", "", 2},
	}
	for _, tt := range tests {
		n := newTicketNormalizer(hubspot.Payload{}, team.Default(), ticketSyncedAt)
		m := n.duration("1", "time_to_first_agent_reply", tt.ms, 600)
		h := n.duration("1", "time_to_close", tt.ms, 36000)
		if m.String() != tt.minutes || h.String() != tt.hours || n.res.Warnings != tt.warnings {
			t.Errorf("%q: minutes %q hours %q warnings %d, want %q %q %d",
				tt.ms, m, h, n.res.Warnings, tt.minutes, tt.hours, tt.warnings)
		}
	}
}

func tkStr(s string) *string { return &s }

// benchTickets builds n realistic tickets: several pipelines and owners, most dates set,
// about a third closed, some unowned and some of a manager.
func benchTickets(n int) hubspot.Payload {
	p := hubspot.Payload{
		Pipelines: []hubspot.Pipeline{
			{ID: "0", Label: "Support Pipeline", Stages: []hubspot.Stage{
				{ID: "1", Label: "New", Metadata: map[string]string{"ticketState": "OPEN"}},
				{ID: "2", Label: "Waiting on contact", Metadata: map[string]string{"ticketState": "OPEN"}},
				{ID: "3", Label: "Waiting on us", Metadata: map[string]string{"ticketState": "OPEN"}},
				{ID: "4", Label: "Closed", Metadata: map[string]string{"ticketState": "CLOSED"}},
			}},
			{ID: "81234567", Label: "Billing", Stages: []hubspot.Stage{
				{ID: "1022989598", Label: "Open", Metadata: map[string]string{"ticketState": "OPEN"}},
				{ID: "1022989599", Label: "Resolved", Metadata: map[string]string{"ticketState": "CLOSED"}},
			}},
		},
	}
	for i := range 40 {
		p.Owners = append(p.Owners, hubspot.Owner{
			ID: strconv.Itoa(41629779 + i), Email: fmt.Sprintf("agent%d@example.com", i),
			FirstName: fmt.Sprintf("Agent%d", i), LastName: "Example", Archived: i%10 == 9,
		})
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	priorities := []string{"LOW", "MEDIUM", "HIGH", "URGENT"}
	sources := []string{"EMAIL", "CHAT", "FORM", "PHONE"}
	for i := range n {
		created := base.Add(time.Duration(i) * 17 * time.Minute)
		props := map[string]*string{
			"hs_object_id":        tkStr(strconv.Itoa(900000000 + i)),
			"subject":             tkStr(fmt.Sprintf("Customer %d cannot export the monthly report (error %d)", i, i%97)),
			"hs_ticket_priority":  tkStr(priorities[i%4]),
			"hs_ticket_category":  tkStr("PRODUCT_ISSUE;BILLING_ISSUE"),
			"source_type":         tkStr(sources[i%4]),
			"createdate":          tkStr(created.Format("2006-01-02T15:04:05.000Z")),
			"hs_lastmodifieddate": tkStr(created.Add(3 * time.Hour).Format("2006-01-02T15:04:05.000Z")),
			"closed_date":         nil,
		}
		if i%7 != 0 {
			props["hubspot_owner_id"] = tkStr(strconv.Itoa(41629779 + i%41)) // one unknown id
		}
		if i%2 == 0 {
			props["hs_pipeline"], props["hs_pipeline_stage"] = tkStr("0"), tkStr(strconv.Itoa(1+i%4))
		} else {
			props["hs_pipeline"], props["hs_pipeline_stage"] = tkStr("81234567"), tkStr("102298959"+strconv.Itoa(8+i%2))
		}
		if i%3 == 0 {
			props["closed_date"] = tkStr(created.Add(19 * time.Hour).Format("2006-01-02T15:04:05.000Z"))
			props["time_to_close"] = tkStr(strconv.Itoa(19 * 3600000))
		}
		if i%2 == 0 {
			props["first_agent_reply_date"] = tkStr(created.Add(42 * time.Minute).Format("2006-01-02T15:04:05.000Z"))
			props["time_to_first_agent_reply"] = tkStr(strconv.Itoa(42 * 60000))
		}
		p.Tickets = append(p.Tickets, hubspot.Ticket{ID: strconv.Itoa(900000000 + i), Properties: props,
			CreatedAt: created, UpdatedAt: created.Add(3 * time.Hour)})
	}
	return p
}

// BenchmarkTickets normalizes 10,000 realistic tickets per op and reports tickets/s and
// allocations per ticket.
func BenchmarkTickets(b *testing.B) {
	const n = 10000
	p := benchTickets(n)
	tc, err := team.Parse([]byte(`
members:
  - {name: Boss, role: manager, aliases: ["41629790"]}
  - {name: Dana, aliases: ["agent3@example.com"]}
  - {name: Sam, aliases: ["Agent5 Example"]}
`))
	if err != nil {
		b.Fatal(err)
	}
	if r := Normalize(p, tc, ticketSyncedAt); len(r.Rows)+len(r.Excluded) != n {
		b.Fatalf("rows %d + excluded %d != %d", len(r.Rows), len(r.Excluded), n)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Normalize(p, tc, ticketSyncedAt)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	tickets := float64(b.N) * n
	b.ReportMetric(tickets/b.Elapsed().Seconds(), "tickets/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/tickets, "allocs/ticket")
}
