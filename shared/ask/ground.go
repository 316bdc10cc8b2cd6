package ask

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The grounding rule (also in README "Ask the data"):
//
//   - Evidence is everything the tools returned to the model: every JSON number of every
//     result, every number written inside a string or key of a result (bucket labels such as
//     "7-30d", bot names), and every ISO date (YYYY-MM-DD) in a result (the applied from and
//     to, by_day dates). Error messages sent back for bad arguments are not evidence.
//   - A claim is every number written in the answer: an ISO date as one token, else digits
//     with optional thousands separators and decimals ("1,234", "0.92", "90"), not glued to a
//     preceding letter (so "P90" or "v2" are names, not numbers), with the unit word that
//     follows it ("%", "percent", "seconds", "min", "hours", "days", "weeks", …).
//   - An ISO date claim is grounded when that date is in the evidence.
//   - A number claim n written with d decimals is grounded by an evidence value v when, for a
//     scale allowed by its unit, v' = v·scale is what n shows rounded: |n − v'| ≤ ½·10^−d,
//     and the rounding is not coarse: |n − v'| ≤ 10 % of |v'| (an exact match always counts).
//     Scales: no unit or another word: 1; % or percent: 100 (a ratio) or 1; seconds: 1;
//     minutes: 1/60 or 1; hours: 1/3600 or 1; days: 1/86400 or 1; weeks: 1/604800 or 1
//     (durations in results are seconds; the second choice keeps counts such as "30d" true).
//   - So "92%" for a csat of 0.9166, "1.5 hours" for a median of 5423 s and "1,234" for 1234
//     pass; "2 hours" for 5423 s (33 % off), a sum or a difference the tools never returned,
//     or a number written as a word are not numbers a tool returned: sums and differences fail,
//     words are not checked. The check is against the set of returned values, not against the
//     field the sentence names.

// Evidence is the set of values the tools returned.
type Evidence struct {
	nums  []float64
	dates map[string]bool
}

// NewEvidence returns empty evidence.
func NewEvidence() *Evidence { return &Evidence{dates: map[string]bool{}} }

var (
	dateRE   = regexp.MustCompile(`\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b`)
	numberRE = regexp.MustCompile(`[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?`)
)

// Add adds every value in v (generic JSON: maps, slices, numbers, strings).
func (e *Evidence) Add(v any) {
	switch v := v.(type) {
	case float64:
		e.nums = append(e.nums, v)
	case int:
		e.nums = append(e.nums, float64(v))
	case string:
		e.addText(v)
	case map[string]any:
		for k, x := range v {
			e.addText(k)
			e.Add(x)
		}
	case map[string]string:
		for k, x := range v {
			e.addText(k)
			e.addText(x)
		}
	case []any:
		for _, x := range v {
			e.Add(x)
		}
	}
}

func (e *Evidence) addText(s string) {
	if !strings.ContainsFunc(s, unicode.IsDigit) {
		return
	}
	for _, d := range dateRE.FindAllString(s, -1) {
		e.dates[d] = true
		if y, err := strconv.Atoi(d[:4]); err == nil {
			e.nums = append(e.nums, float64(y)) // "in 2026"
		}
	}
	for _, c := range claims(s) {
		if !c.date {
			e.nums = append(e.nums, c.value)
		}
	}
}

// Claim is one number written in an answer.
type Claim struct {
	// Text is the number as written, with its unit.
	Text     string
	value    float64
	decimals int
	unit     string
	date     bool
}

// claims finds the numbers written in s.
func claims(s string) []Claim {
	var out []Claim
	dates := dateRE.FindAllStringIndex(s, -1)
	for _, d := range dates {
		out = append(out, Claim{Text: s[d[0]:d[1]], date: true})
	}
	for _, m := range numberRE.FindAllStringIndex(s, -1) {
		if slices.ContainsFunc(dates, func(d []int) bool { return m[0] < d[1] && d[0] < m[1] }) {
			continue
		}
		if m[0] > 0 {
			r, _ := utf8.DecodeLastRuneInString(s[:m[0]])
			if unicode.IsLetter(r) || r == '_' || r == '.' {
				continue // part of a name (P90, v2) or of a longer token
			}
		}
		num := s[m[0]:m[1]]
		v, err := strconv.ParseFloat(strings.ReplaceAll(num, ",", ""), 64)
		if err != nil {
			continue
		}
		dec := 0
		if i := strings.IndexByte(num, '.'); i >= 0 {
			dec = len(num) - i - 1
		}
		unit, end := unitAfter(s, m[1])
		out = append(out, Claim{Text: strings.TrimSpace(s[m[0]:end]), value: v, decimals: dec, unit: unit})
	}
	return out
}

// unitAfter reads the unit word after a number at i ("%" or a word, after at most one space).
func unitAfter(s string, i int) (unit string, end int) {
	j := i
	if j < len(s) && s[j] == '%' {
		return "%", j + 1
	}
	if j < len(s) && (s[j] == ' ' || s[j] == '\u00a0') {
		j++
	}
	k := j
	for k < len(s) {
		r, n := utf8.DecodeRuneInString(s[k:])
		if !unicode.IsLetter(r) {
			break
		}
		k += n
	}
	if k == j {
		if j < len(s) && s[j] == '%' {
			return "%", j + 1
		}
		return "", i
	}
	if u := strings.ToLower(s[j:k]); len(scales(u)) > 1 || u == "s" || strings.HasPrefix(u, "sec") {
		return u, k
	}
	return "", i // a word that is not a unit ("tickets")
}

// scales maps a unit word to the factors applied to evidence values.
func scales(unit string) []float64 {
	switch unit {
	case "%", "percent", "pct":
		return []float64{100, 1}
	case "m", "min", "mins", "minute", "minutes":
		return []float64{1.0 / 60, 1}
	case "h", "hr", "hrs", "hour", "hours":
		return []float64{1.0 / 3600, 1}
	case "d", "day", "days":
		return []float64{1.0 / 86400, 1}
	case "w", "wk", "wks", "week", "weeks":
		return []float64{1.0 / 604800, 1}
	}
	return []float64{1}
}

// rounds reports whether n, written with dec decimals, is v rounded (and not coarsely).
func rounds(n float64, dec int, v float64) bool {
	diff := math.Abs(n - v)
	eps := 1e-9 * math.Max(1, math.Abs(v))
	if diff <= eps {
		return true
	}
	return diff <= 0.5*math.Pow10(-dec)+eps && diff <= 0.1*math.Abs(v)+eps
}

// Grounded reports whether the claim is supported by the evidence.
func (e *Evidence) Grounded(c Claim) bool {
	if c.date {
		return e.dates[c.Text]
	}
	for _, sc := range scales(c.unit) {
		for _, v := range e.nums {
			if rounds(c.value, c.decimals, v*sc) {
				return true
			}
		}
	}
	return false
}

// Unsupported returns the numbers of answer that no tool returned, as written.
func (e *Evidence) Unsupported(answer string) []string {
	var out []string
	for _, c := range claims(answer) {
		if !e.Grounded(c) {
			out = append(out, c.Text)
		}
	}
	return out
}
