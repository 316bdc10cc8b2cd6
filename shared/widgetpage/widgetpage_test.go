package widgetpage

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func fp(f float64) *float64 { return &f }

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{Duration(nil), "–"},
		{Duration(fp(0.4)), "0s"},
		{Duration(fp(59.6)), "1m 00s"},
		{Duration(fp(754)), "12m 34s"},
		{Duration(fp(3 * 3600)), "3h 00m"},
		{Duration(fp(86400*2 + 3600*4 + 59)), "2d 4h"},
		{Percent(nil), "–"},
		{Percent(fp(0.8126)), "81.3 %"},
		{Percent(fp(1)), "100.0 %"},
		{Count(0), "0"},
		{Count(999), "999"},
		{Count(1000), "1,000"},
		{Count(1234567), "1,234,567"},
		{Count(-4200), "-4,200"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestCSVKeepsNumbersAndDefusesFormulas: raw values go out as they are; a text cell that a
// spreadsheet would run as a formula gets an apostrophe.
func TestCSVKeepsNumbersAndDefusesFormulas(t *testing.T) {
	m := Model{Tables: []Table{
		{Header: []string{"Agent", "Median"}, Rows: [][]Cell{
			{ct("=HYPERLINK(\"x\")"), cd(fp(12.5))},
			{ct("-1"), cd(nil)},
			{ct("@SUM(A1)"), cd(fp(-3))},
			{ct("Ann, \"the\" lead"), cd(fp(1e6))},
		}},
		{Header: []string{"Date", "Count"}, Rows: [][]Cell{{ct("2026-11-30"), ci(7)}}},
	}}
	var b bytes.Buffer
	if err := CSV(&b, m); err != nil {
		t.Fatal(err)
	}
	want := "Agent,Median\n\"'=HYPERLINK(\"\"x\"\")\",12.5\n-1,\n'@SUM(A1),-3\n\"Ann, \"\"the\"\" lead\",1000000\n\nDate,Count\n2026-11-30,7\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestChartsAreWellFormedAndEscaped: every chart is valid XML with its title and description,
// text from the data escaped, no inline style.
func TestChartsAreWellFormedAndEscaped(t *testing.T) {
	evil := `<script>alert(1)</script> & "x"`
	one := 3.0
	charts := map[string]string{
		"days":    DayBars("d", evil, evil, []Point{{Label: "2026-11-01", Value: 3, Tip: evil}, {Label: "2026-11-02", Value: 0, Tip: "0"}}),
		"hbars":   HBars("h", "t", "d", []Point{{Label: evil, Value: 2, Tip: evil}}, countText),
		"empty":   HBars("e", "t", "d", nil, countText),
		"heatmap": Heatmap("m", "t", "d", [][]*float64{{&one, nil}, {nil, &one}}),
		"no days": DayBars("z", "t", "d", nil),
	}
	for name, svg := range charts {
		if strings.Contains(svg, "<script") || strings.Contains(svg, "style=") {
			t.Errorf("%s: unescaped text or inline style: %s", name, svg)
		}
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			if _, err := d.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Errorf("%s: not well-formed: %v\n%s", name, err, svg)
				}
				break
			}
		}
		if !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, "<title id=") || !strings.Contains(svg, "<desc id=") {
			t.Errorf("%s: no accessible name and description", name)
		}
	}
	if !strings.Contains(charts["empty"], "No data in this range") {
		t.Error("an empty bar chart does not say so")
	}
	if strings.Count(charts["heatmap"], `class="cell none"`) != 2 || strings.Count(charts["heatmap"], `fill-opacity="1.00"`) != 2 {
		t.Errorf("heatmap cells: %s", charts["heatmap"])
	}
}

func TestNiceMax(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.3: 0.5, 1: 1, 7: 10, 12: 20, 45: 50, 51: 100, 999: 1000} {
		if got := niceMax(in); got != want {
			t.Errorf("niceMax(%v) = %v, want %v", in, got, want)
		}
	}
}

// TestBuildRejectsUnknownAndBadBodies: an unknown widget or a body that is not the contract's
// JSON is an error, not a blank page.
func TestBuildRejectsUnknownAndBadBodies(t *testing.T) {
	if _, _, err := Build("revenue", "Revenue", "", []byte(`{"value":{}}`)); err == nil {
		t.Error("unknown widget accepted")
	}
	if _, _, err := Build("chat-csat", "Chat CSAT", "", []byte(`{"value":`)); err == nil {
		t.Error("truncated body accepted")
	}
	_, m, err := Build("chat-csat", "Chat CSAT", "", []byte(`{"widget":"chat-csat","value":{"threads":0,"good":0,"bad":0,"csat":null,"response_rate":null}}`))
	if err != nil || m.Headline[0].Value != "–" || !strings.Contains(m.Summary, "CSAT –") {
		t.Errorf("empty range: %+v %v", m.Headline, err)
	}
}
