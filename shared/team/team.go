// Package team holds the team configuration: the timezone and work schedule, and the members
// with their standard names, roles and the aliases under which HubSpot and LiveChat know them.
// It is read from one YAML file (TEAM_CONFIG); default.yaml ships as the documented default.
package team

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // the binaries carry the tz database

	"go.yaml.in/yaml/v3"
)

// Role is what a member does.
type Role string

// The roles. Agent is the default.
const (
	Agent   Role = "agent"
	Manager Role = "manager"
	Bot     Role = "bot"
)

// Member is one person or bot, known everywhere by Name.
type Member struct {
	Name    string   `yaml:"name"`
	Role    Role     `yaml:"role"`
	Aliases []string `yaml:"aliases"`
}

// Hours is the daily working window, "HH:MM" local.
type Hours struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// Config is a parsed, validated team configuration.
type Config struct {
	Timezone string   `yaml:"timezone"`
	Workdays []string `yaml:"workdays"`
	Hours    Hours    `yaml:"hours"`
	Holidays []string `yaml:"holidays"`
	Members  []Member `yaml:"members"`

	// Location is Timezone loaded from the embedded tz database.
	Location *time.Location `yaml:"-"`

	workdays [7]bool
	holidays map[string]bool
	byAlias  map[string]*Member
}

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the documented default configuration file.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// Default returns the default configuration (America/Halifax, Monday to Friday, no members).
func Default() *Config {
	c, err := Parse(defaultYAML)
	if err != nil {
		panic("team: default.yaml is invalid: " + err.Error())
	}
	return c
}

// Load reads and validates the file at path; an empty path gives Default().
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("team config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("team config %s: %w", path, err)
	}
	return c, nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse decodes and validates a configuration, reporting every problem at once. Unknown keys
// are errors (a typo must not silently drop a setting).
func Parse(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("yaml: %w", err)
		}
		// Unknown keys and mistyped values: the decoder went on, so they are reported
		// together with every other problem.
		for _, e := range te.Errors {
			bad("yaml: %s", e)
		}
	}

	if c.Timezone == "" {
		c.Timezone = "America/Halifax"
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		bad("timezone %q is not an IANA time zone", c.Timezone)
	}
	c.Location = loc

	if c.Workdays == nil {
		c.Workdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri"}
	}
	for _, d := range c.Workdays {
		wd, ok := dayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			bad("workdays: %q is not a day (Mon … Sun)", d)
			continue
		}
		c.workdays[wd] = true
	}

	if c.Hours == (Hours{}) {
		c.Hours = Hours{Start: "08:00", End: "17:00"}
	}
	start, errS := time.Parse("15:04", c.Hours.Start)
	end, errE := time.Parse("15:04", c.Hours.End)
	if errS != nil {
		bad("hours.start %q is not HH:MM", c.Hours.Start)
	}
	if errE != nil {
		bad("hours.end %q is not HH:MM", c.Hours.End)
	}
	if errS == nil && errE == nil && !end.After(start) {
		bad("hours: end %s is not after start %s", c.Hours.End, c.Hours.Start)
	}

	c.holidays = map[string]bool{}
	for _, h := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			bad("holidays: %q is not a date (YYYY-MM-DD)", h)
			continue
		}
		c.holidays[h] = true
	}

	c.byAlias = map[string]*Member{}
	names := map[string]bool{}
	for i := range c.Members {
		m := &c.Members[i]
		m.Name = strings.TrimSpace(m.Name)
		where := fmt.Sprintf("members[%d]", i)
		if m.Name == "" {
			bad("%s: name is empty", where)
		} else {
			where = fmt.Sprintf("members[%d] (%s)", i, m.Name)
			if names[strings.ToLower(m.Name)] {
				bad("%s: name appears twice", where)
			}
			names[strings.ToLower(m.Name)] = true
		}
		switch m.Role {
		case "":
			m.Role = Agent
		case Agent, Manager, Bot:
		default:
			bad("%s: role %q is not agent, manager or bot", where, m.Role)
		}
		// A member is also known by its own name.
		for _, a := range append([]string{m.Name}, m.Aliases...) {
			k := normAlias(a)
			if k == "" {
				if a != m.Name {
					bad("%s: an alias is empty", where)
				}
				continue
			}
			if other, ok := c.byAlias[k]; ok && other != m {
				bad("%s: alias %q already belongs to %s", where, a, other.Name)
				continue
			}
			c.byAlias[k] = m
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &c, nil
}

func normAlias(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Lookup returns the member that any of keys names (an id, email, or name; case-insensitive),
// trying keys in order, or nil.
func (c *Config) Lookup(keys ...string) *Member {
	for _, k := range keys {
		if m, ok := c.byAlias[normAlias(k)]; ok {
			return m
		}
	}
	return nil
}

// IsWorkday reports whether t's local date (in the team timezone) is a workday: its weekday is
// one of workdays and it is not a holiday.
func (c *Config) IsWorkday(t time.Time) bool {
	lt := t.In(c.Location)
	if c.holidays[lt.Format(time.DateOnly)] {
		return false
	}
	return c.workdays[lt.Weekday()]
}
