package team

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const fullYAML = `
timezone: America/Halifax
workdays: [Mon, Tue, Wed, Thu, Fri]
hours: {start: "08:00", end: "17:00"}
holidays: ["2026-12-25", 2026-07-01]
members:
  - name: Richie
    role: manager
    aliases: ["1001", "richie@example.com", "Richard Rich"]
  - name: " Dana "
    aliases: ["41629779", "DANA.RUIZ@example.com"]
  - name: Wynn AI
    role: bot
    aliases: ["b7c0d0a3e5f64a0c9d1e2f3a4b5c6d7e"]
`

func TestParseHappyPath(t *testing.T) {
	c, err := Parse([]byte(fullYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Timezone: "America/Halifax",
		Workdays: []string{"Mon", "Tue", "Wed", "Thu", "Fri"},
		Hours:    Hours{Start: "08:00", End: "17:00"},
		Holidays: []string{"2026-12-25", "2026-07-01"},
		Members: []Member{
			{Name: "Richie", Role: Manager, Aliases: []string{"1001", "richie@example.com", "Richard Rich"}},
			{Name: "Dana", Role: Agent, Aliases: []string{"41629779", "DANA.RUIZ@example.com"}},
			{Name: "Wynn AI", Role: Bot, Aliases: []string{"b7c0d0a3e5f64a0c9d1e2f3a4b5c6d7e"}},
		},
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreUnexported(Config{}), cmpopts.IgnoreFields(Config{}, "Location")); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
	if c.Location == nil || c.Location.String() != "America/Halifax" {
		t.Errorf("Location = %v, want America/Halifax", c.Location)
	}
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"empty file", ""},
		{"comments only", "# nothing here\n"},
		{"empty document", "{}"},
		{"members only", "members: [{name: Ann}]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if c.Timezone != "America/Halifax" || c.Location.String() != "America/Halifax" {
				t.Errorf("timezone = %q / %v, want America/Halifax", c.Timezone, c.Location)
			}
			if diff := cmp.Diff([]string{"Mon", "Tue", "Wed", "Thu", "Fri"}, c.Workdays); diff != "" {
				t.Errorf("workdays (-want +got):\n%s", diff)
			}
			if c.Hours != (Hours{Start: "08:00", End: "17:00"}) {
				t.Errorf("hours = %+v, want 08:00-17:00", c.Hours)
			}
			for _, m := range c.Members {
				if m.Role != Agent {
					t.Errorf("member %s role = %q, want the default agent", m.Name, m.Role)
				}
			}
		})
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Location.String() != "America/Halifax" || len(c.Members) != 0 {
		t.Errorf("Default() = %+v", c)
	}
	if got := DefaultYAML(); string(got) != string(defaultYAML) {
		t.Error("DefaultYAML differs from default.yaml")
	}
	DefaultYAML()[0] = 'X' // a copy: changing it changes nothing
	if defaultYAML[0] == 'X' {
		t.Error("DefaultYAML returned the embedded bytes, not a copy")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the error
	}{
		{"unknown key", "timezone: UTC\ntimezon: UTC\n", []string{"field timezon not found"}},
		{"bad timezone", "timezone: Mars/Olympus\n", []string{`timezone "Mars/Olympus" is not an IANA time zone`}},
		{"bad day", "workdays: [Mon, Funday]\n", []string{`workdays: "Funday" is not a day`}},
		{"bad hours", `hours: {start: "8am", end: "25:00"}`, []string{`hours.start "8am" is not HH:MM`, `hours.end "25:00" is not HH:MM`}},
		{"end before start", `hours: {start: "17:00", end: "08:00"}`, []string{"hours: end 08:00 is not after start 17:00"}},
		{"bad holiday", `holidays: ["2026-02-30", "Christmas"]`, []string{`holidays: "2026-02-30" is not a date`, `holidays: "Christmas" is not a date`}},
		{"bad role", "members: [{name: Ann, role: boss}]", []string{`members[0] (Ann): role "boss" is not agent, manager or bot`}},
		{"empty name", "members: [{name: ' ', aliases: [x]}]", []string{"members[0]: name is empty"}},
		{"empty alias", "members: [{name: Ann, aliases: ['  ']}]", []string{"members[0] (Ann): an alias is empty"}},
		{"duplicate name", "members: [{name: Ann}, {name: ann}]", []string{"members[1] (ann): name appears twice"}},
		{"duplicate alias across members", "members: [{name: Ann, aliases: [A@x.com]}, {name: Bo, aliases: [' a@X.com']}]",
			[]string{`members[1] (Bo): alias " a@X.com" already belongs to Ann`}},
		{"alias is another member's name", "members: [{name: Ann}, {name: Bo, aliases: [ANN]}]",
			[]string{`members[1] (Bo): alias "ANN" already belongs to Ann`}},
		{"wrong type", "workdays: Mon\n", []string{"cannot unmarshal"}},
		{"not yaml", "members: [\n", []string{"yaml:"}},
		{"everything at once", `
timezone: Nowhere/Land
timezon: x
workdays: [Mon, Someday]
hours: {start: "9", end: "17:00"}
holidays: ["tomorrow"]
members:
  - {name: Ann, role: chief, aliases: ["1"]}
  - {name: Bo, aliases: ["1"]}
`, []string{
			"field timezon not found", `timezone "Nowhere/Land"`, `"Someday" is not a day`, `hours.start "9"`,
			`holidays: "tomorrow"`, `role "chief"`, `alias "1" already belongs to Ann`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; tt.name == "everything at once" && n < len(tt.want) {
				t.Errorf("%d problems reported, want at least %d:\n%v", n, len(tt.want), err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "team.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(fullYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("timezone: Nowhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		members int
		wantErr string
	}{
		{"", 0, ""},
		{good, 3, ""},
		{bad, 0, bad + `: timezone "Nowhere"`},
		{filepath.Join(dir, "missing.yaml"), 0, "no such file"},
	}
	for _, tt := range tests {
		c, err := Load(tt.path)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load(%q) error = %v, want %q", tt.path, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Load(%q): %v", tt.path, err)
			continue
		}
		if len(c.Members) != tt.members {
			t.Errorf("Load(%q): %d members, want %d", tt.path, len(c.Members), tt.members)
		}
	}
}

func TestDefaultYAMLIsDocumentedDefault(t *testing.T) {
	c, err := Parse(DefaultYAML())
	if err != nil {
		t.Fatal(err)
	}
	if c.Timezone != "America/Halifax" {
		t.Errorf("default.yaml timezone = %s", c.Timezone)
	}
}

func TestLookup(t *testing.T) {
	c, err := Parse([]byte(fullYAML))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		keys []string
		want string // "" for nil
	}{
		{[]string{"1001"}, "Richie"},
		{[]string{"RICHIE@EXAMPLE.COM"}, "Richie"},
		{[]string{"  richard rich "}, "Richie"},
		{[]string{"richie"}, "Richie"}, // a member's name is an alias
		{[]string{"dana"}, "Dana"},     // the trimmed name
		{[]string{"dana.ruiz@EXAMPLE.com"}, "Dana"},
		{[]string{"B7C0D0A3E5F64A0C9D1E2F3A4B5C6D7E"}, "Wynn AI"},
		{[]string{"nobody", "", "41629779"}, "Dana"}, // keys tried in order
		{[]string{"1001", "41629779"}, "Richie"},     // the first match wins
		{[]string{"Richard  Rich"}, ""},              // inner spaces are significant
		{[]string{""}, ""},
		{nil, ""},
		{[]string{"1002"}, ""},
	}
	for _, tt := range tests {
		m := c.Lookup(tt.keys...)
		got := ""
		if m != nil {
			got = m.Name
		}
		if got != tt.want {
			t.Errorf("Lookup(%q) = %q, want %q", tt.keys, got, tt.want)
		}
	}
	if m := c.Lookup("1001"); m.Role != Manager {
		t.Errorf("Richie role = %s, want manager", m.Role)
	}
}

func TestIsWorkday(t *testing.T) {
	c, err := Parse([]byte(`
timezone: America/Halifax
workdays: [mon, TUE, Wed, Thu, Fri, " sat "]
holidays: ["2026-12-25", "2026-03-09", "2026-11-02"]
`))
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		at   string
		want bool
		why  string
	}{
		{"2026-03-13T15:00:00Z", true, "Friday"},
		{"2026-03-14T15:00:00Z", true, "Saturday is a workday in this config"},
		{"2026-03-15T15:00:00Z", false, "Sunday"},
		{"2026-03-16T02:30:00Z", false, "Monday 02:30Z is Sunday 23:30 ADT"},
		{"2026-03-16T02:59:59Z", false, "still Sunday local"},
		{"2026-03-16T03:00:00Z", true, "Monday 00:00 ADT"},
		{"2026-03-08T05:59:59Z", false, "Sunday 01:59:59 AST, just before spring forward"},
		{"2026-03-08T06:00:00Z", false, "Sunday 03:00 ADT, just after"},
		{"2026-03-09T03:30:00Z", false, "Monday 00:30 ADT is a holiday"},
		{"2026-03-09T03:59:59Z", false, "Monday, holiday"},
		{"2026-03-09T02:59:59Z", false, "Sunday 23:59:59 ADT"},
		{"2026-03-10T02:59:59Z", false, "Monday 23:59:59 ADT, still the holiday"},
		{"2026-03-10T03:00:00Z", true, "Tuesday 00:00 ADT"},
		{"2026-11-01T04:30:00Z", false, "Sunday 01:30 ADT, fall back day"},
		{"2026-11-01T05:30:00Z", false, "Sunday 01:30 AST, the second time"},
		{"2026-11-02T03:30:00Z", false, "Sunday 23:30 AST (UTC-4 now)"},
		{"2026-11-02T04:00:00Z", false, "Monday 00:00 AST, a holiday"},
		{"2026-11-03T03:59:59Z", false, "Monday 23:59:59 AST, holiday"},
		{"2026-11-03T04:00:00Z", true, "Tuesday 00:00 AST"},
		{"2026-12-25T03:59:59Z", true, "Thursday Dec 24 23:59:59 AST"},
		{"2026-12-25T04:00:00Z", false, "Christmas"},
		{"2026-12-26T03:59:59Z", false, "Christmas 23:59:59 local"},
		{"2026-12-26T04:00:00Z", true, "Saturday Dec 26 (a workday here)"},
	}
	for _, tt := range tests {
		if got := c.IsWorkday(utc(tt.at)); got != tt.want {
			t.Errorf("IsWorkday(%s) = %v, want %v (%s)", tt.at, got, tt.want, tt.why)
		}
	}
	// The zone of the argument does not matter, only the instant.
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if c.IsWorkday(utc("2026-12-25T04:00:00Z").In(tokyo)) {
		t.Error("IsWorkday depends on the argument's zone")
	}
}

func TestIsWorkdayNoWorkdays(t *testing.T) {
	c, err := Parse([]byte("workdays: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.IsWorkday(time.Date(2026, 3, 11, 15, 0, 0, 0, time.UTC)) {
		t.Error("an explicit empty workdays list still has workdays")
	}
}
