package widgets

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Filter names.
const (
	FilterFrom     = "from"
	FilterTo       = "to"
	FilterPipeline = "pipeline"
	FilterAgent    = "agent"
	FilterSource   = "source"
)

// Limits of a request's filters.
const (
	// MaxDays is the longest range, in local dates.
	MaxDays = 400
	// DefaultDays is the range when neither from nor to is given: the dates ending today.
	DefaultDays = 30
	// MaxValueBytes is the longest pipeline or agent value.
	MaxValueBytes = 200
)

// Filters are a request's filters, validated. From and To are always set (defaults applied).
type Filters struct {
	From, To string // YYYY-MM-DD, inclusive
	Pipeline string // "" = all
	Agent    string // "" = all
	Source   string // "", "tickets" or "chats"

	// set says which filters the request gave (for "as applied").
	hasPipeline, hasAgent bool
}

// BadRequestError is a request the widget cannot answer; Reason says why, in words safe to
// show the caller.
type BadRequestError struct{ Reason string }

// Error returns the reason.
func (e *BadRequestError) Error() string { return e.Reason }

func bad(format string, a ...any) error { return &BadRequestError{Reason: fmt.Sprintf(format, a...)} }

// IsBadRequest reports whether err is a BadRequestError.
func IsBadRequest(err error) bool {
	var b *BadRequestError
	return errors.As(err, &b)
}

var dateRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

func parseDate(name, s string) (time.Time, error) {
	if !dateRE.MatchString(s) {
		return time.Time{}, bad("%s: %q is not a date (YYYY-MM-DD)", name, clip(s))
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, bad("%s: %q is not a valid date", name, s)
	}
	if t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, bad("%s: %q is out of range (years 2000 to 2200)", name, s)
	}
	return t, nil
}

// clip shortens a caller's value for an error message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	i := 40
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func checkText(name, s string) error {
	switch {
	case len(s) > MaxValueBytes:
		return bad("%s: longer than %d bytes", name, MaxValueBytes)
	case !utf8.ValidString(s):
		return bad("%s: not valid UTF-8", name)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return bad("%s: contains control characters", name)
	}
	return nil
}

// ParseFilters validates the query parameters of a request for widget w. today is the current
// local date in the team timezone (YYYY-MM-DD), for the default range. Every parameter must be
// a filter of the widget, given at most once; an empty value counts as not given. Parameters
// in ignore (such as an access token) are skipped.
func ParseFilters(w Widget, q url.Values, today string, ignore ...string) (Filters, error) {
	var f Filters
	var errs []string
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := map[string]string{}
	for _, k := range keys {
		if slices.Contains(ignore, k) {
			continue
		}
		if !slices.Contains(w.Filters, k) && !(w.IgnoresRange && (k == FilterFrom || k == FilterTo)) {
			if slices.Contains(allFilters, k) {
				errs = append(errs, fmt.Sprintf("%s: does not apply to %s (its filters: %s)", k, w.ID, strings.Join(w.Filters, ", ")))
			} else {
				errs = append(errs, fmt.Sprintf("unknown parameter %q (filters of %s: %s)", clip(k), w.ID, strings.Join(w.Filters, ", ")))
			}
			continue
		}
		if len(q[k]) > 1 {
			errs = append(errs, fmt.Sprintf("%s: given more than once", k))
			continue
		}
		if v := q[k][0]; v != "" {
			vals[k] = v
		}
	}
	if len(errs) > 0 {
		return Filters{}, &BadRequestError{Reason: strings.Join(errs, "; ")}
	}
	for _, k := range []string{FilterPipeline, FilterAgent} {
		if v, ok := vals[k]; ok {
			if err := checkText(k, v); err != nil {
				return Filters{}, err
			}
		}
	}
	f.Pipeline, f.hasPipeline = vals[FilterPipeline]
	f.Agent, f.hasAgent = vals[FilterAgent]
	if s, ok := vals[FilterSource]; ok {
		if s != "tickets" && s != "chats" {
			return Filters{}, bad("source: %q is not tickets or chats", clip(s))
		}
		f.Source = s
	}
	if f.hasPipeline && f.Source == "chats" {
		return Filters{}, bad("pipeline keeps only tickets, so it cannot be combined with source=chats")
	}

	todayT, err := parseDate("today", today)
	if err != nil {
		return Filters{}, err
	}
	var from, to time.Time
	fs, hasFrom := vals[FilterFrom]
	ts, hasTo := vals[FilterTo]
	if hasTo {
		if to, err = parseDate(FilterTo, ts); err != nil {
			return Filters{}, err
		}
	} else {
		to = todayT
	}
	if hasFrom {
		if from, err = parseDate(FilterFrom, fs); err != nil {
			return Filters{}, err
		}
	} else {
		from = to.AddDate(0, 0, -(DefaultDays - 1))
	}
	if from.After(to) {
		return Filters{}, bad("from (%s) is after to (%s)", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	if days := int(to.Sub(from).Hours()/24) + 1; days > MaxDays {
		return Filters{}, bad("range of %d days is longer than %d", days, MaxDays)
	}
	f.From, f.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
	return f, nil
}

// Applied returns the filters as applied to widget w, for the response.
func (f Filters) Applied(w Widget) map[string]string {
	m := map[string]string{}
	if !w.IgnoresRange {
		m[FilterFrom], m[FilterTo] = f.From, f.To
	}
	if f.hasPipeline {
		m[FilterPipeline] = f.Pipeline
	}
	if f.hasAgent {
		m[FilterAgent] = f.Agent
	}
	if f.Source != "" {
		m[FilterSource] = f.Source
	}
	return m
}

// Values returns the filters as query parameters (only those given or defaulted).
func (f Filters) Values(w Widget) url.Values {
	v := url.Values{}
	for k, s := range f.Applied(w) {
		v.Set(k, s)
	}
	return v
}

// days returns the range as day numbers.
func (f Filters) days() (from, to int32) {
	a, _ := time.Parse(time.DateOnly, f.From)
	b, _ := time.Parse(time.DateOnly, f.To)
	return int32(a.Unix() / 86400), int32(b.Unix() / 86400)
}
