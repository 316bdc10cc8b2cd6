// Package widgetpage renders the widget pages and the dashboard as HTML: a server-side SVG
// chart per widget (see svg.go for why our own), its headline numbers, its range and filters
// in words, the data's freshness, an accessible data table and a CSV. It is pure: widgetapi
// gives it the JSON API's bodies and the status, and serves what it writes. The stylesheet and
// templates are embedded; the stylesheet is served at a content-hash URL. There is no
// JavaScript: hover readouts are SVG <title> tooltips, the filters are a plain GET form and
// TV mode refreshes with a meta refresh.
package widgetpage

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/csv"
	"encoding/hex"
	"html/template"
	"io"
	"strings"
)

//go:embed assets/style.css assets/templates.html
var files embed.FS

var (
	style     = mustRead("assets/style.css")
	styleName = "style-" + hashOf(style) + ".css"
	tmpl      = template.Must(template.New("").ParseFS(files, "assets/templates.html"))
)

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// AssetPrefix is the path under which the assets are served.
const AssetPrefix = "/widgets/assets/"

// StylePath is the stylesheet's content-hash URL path.
func StylePath() string { return AssetPrefix + styleName }

// Asset returns an asset by its hashed file name and its content type.
func Asset(name string) (body []byte, contentType string, ok bool) {
	if name == styleName {
		return style, "text/css; charset=utf-8", true
	}
	return nil, "", false
}

// Head is what every page's <head> needs.
type Head struct {
	DocTitle string
	// Theme is "", "light" or "dark" (?theme=), a class on <html>.
	Theme string
	// Refresh is a meta refresh ("20;url=…"), TV mode only.
	Refresh string
	Style   string
}

// Widget is one widget as shown on its page or on the dashboard.
type Widget struct {
	ID, Title string
	// Scope is the range and the filters in words.
	Scope string
	// AsOf is when the data was read, in the team's timezone; AsOfISO in RFC 3339.
	AsOf, AsOfISO string
	// Warning is shown when the data is stale or the last sync failed.
	Warning string
	Model   Model
	CSVURL  string
	OpenURL string
	// Heading2 makes the title an h2 (on the dashboard).
	Heading2   bool
	OpenTables bool
}

// HTML is the table as HTML: a caption, column headers and a row header per row. It is
// written here rather than in the template because a year of days is thousands of cells,
// and the template's per-cell escaping took most of a page's render time.
func (t Table) HTML() template.HTML {
	var b strings.Builder
	b.Grow(64 + len(t.Rows)*len(t.Header)*24)
	b.WriteString("<table>\n<caption>")
	b.WriteString(esc(t.Caption))
	b.WriteString("</caption>\n<thead><tr>")
	for _, h := range t.Header {
		b.WriteString(`<th scope="col">`)
		b.WriteString(esc(h))
		b.WriteString("</th>")
	}
	b.WriteString("</tr></thead>\n<tbody>")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for j, c := range r {
			if j == 0 {
				b.WriteString(`<th scope="row">`)
				b.WriteString(esc(c.Text))
				b.WriteString("</th>")
				continue
			}
			b.WriteString("<td>")
			b.WriteString(esc(c.Text))
			b.WriteString("</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>")
	return template.HTML(b.String())
}

// Chart is the SVG as trusted HTML (it is built by this package, every text escaped).
func (w Widget) Chart() template.HTML { return template.HTML(w.Model.Chart) }

// Field is one filter control.
type Field struct {
	Name, Label, Type, Value, Placeholder string
	Locked                                bool
	Options                               []Option
}

// Option is one choice of a select.
type Option struct{ Value, Label string }

// Hidden is a hidden form field (the token, the theme).
type Hidden struct{ Name, Value string }

// Form is the filter form: a plain GET form that works without JavaScript.
type Form struct {
	Action string
	Hidden []Hidden
	Fields []Field
}

// PageData is a widget page.
type PageData struct {
	Head
	W    Widget
	Form *Form
	TV   bool
}

// StatusView is the sync status at the top of the dashboard.
type StatusView struct {
	Overall, Reason string
	Sources         []string
	Error           string
}

// Card is one widget on the dashboard with its embed snippet.
type Card struct {
	W       Widget
	Embed   string
	Expires string
	Error   string
}

// GalleryData is the dashboard.
type GalleryData struct {
	Head
	Status StatusView
	// Ask is the Ask box (shown when Ask.Enabled).
	Ask   AskView
	Error string
	Form  Form
	Cards []Card
	TVURL string
	// TV mode: one card, its 1-based index, the count and the rotation period.
	TV               bool
	TVIndex, TVCount int
	TVEvery          int
	ExitTV           string
}

// AskView is the dashboard's Ask box: a plain form (no JavaScript) and, after a question,
// the answer and the facts behind it, each a link to its widget page with those filters.
type AskView struct {
	// Enabled shows the box (a model is configured).
	Enabled bool
	// Action is where the form posts (the dashboard's query kept).
	Action string
	// Question is the question asked; Answer, Note and Facts its answer; Error why there is none.
	Question, Answer, Note, Error string
	Facts                         []AskFact
}

// AskFact is one fact of an answer: the widget and filters in words, and its page.
type AskFact struct {
	Label, Link string
}

// ErrorData is an error page.
type ErrorData struct {
	Head
	Heading, Message string
}

func (h *Head) fill() {
	if h.Style == "" {
		h.Style = StylePath()
	}
}

// RenderPage writes a widget page.
func RenderPage(w io.Writer, d PageData) error {
	d.fill()
	return tmpl.ExecuteTemplate(w, "page", d)
}

// RenderGallery writes the dashboard.
func RenderGallery(w io.Writer, d GalleryData) error {
	d.fill()
	return tmpl.ExecuteTemplate(w, "gallery", d)
}

// RenderError writes an error page.
func RenderError(w io.Writer, d ErrorData) error {
	d.fill()
	if d.DocTitle == "" {
		d.DocTitle = d.Heading + " · supportsync"
	}
	return tmpl.ExecuteTemplate(w, "error", d)
}

// CSV writes the model's tables as CSV with raw values (seconds, ratios as decimals): each
// table's header row then its rows; several tables are separated by an empty line.
func CSV(w io.Writer, m Model) error {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	for i, t := range m.Tables {
		if i > 0 {
			cw.Write(nil)
		}
		cw.Write(t.Header)
		for _, r := range t.Rows {
			rec := make([]string, len(r))
			for j, c := range r {
				rec[j] = safeCell(c.Raw)
			}
			cw.Write(rec)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// safeCell keeps a spreadsheet from reading a text cell as a formula (CSV injection): a cell
// starting with = + - @ that is not a number gets a leading apostrophe.
func safeCell(s string) string {
	if s == "" || !strings.ContainsAny(s[:1], "=+-@") {
		return s
	}
	if _, err := parseNumber(s); err == nil {
		return s
	}
	return "'" + s
}
