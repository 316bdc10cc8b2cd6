package widgetapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"supportsync.dev/shared/widgetpage"
	"supportsync.dev/shared/widgets"
)

// DefaultFrameAncestors are HubSpot's app hosts (US and EU), the hosts allowed to frame a
// widget page when none are configured (reference/analytics.md §3.1).
var DefaultFrameAncestors = []string{"https://app.hubspot.com", "https://app-eu1.hubspot.com"}

// statusEvery is how long a page reuses the sync status it read.
const statusEvery = 15 * time.Second

// pageParams are the query parameters of the pages that are not filters.
var pageParams = []string{"format", "theme", "tv", "i", "every", "ttl"}

// csp is the Content-Security-Policy of every HTML page: nothing but our own stylesheet, no
// script at all, forms only to us, framing only by 'self' and ancestors.
func csp(ancestors []string) string {
	return "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'" +
		strings.TrimRight(" "+strings.Join(ancestors, " "), " ")
}

func (s *Server) htmlHeaders(w http.ResponseWriter, ancestors []string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp(ancestors))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// failPage answers an HTML error page; a 401 without credentials asks the browser to log in
// when ask is set (the dashboard).
func (s *Server) failPage(w http.ResponseWriter, code int, heading, msg string, ask bool) {
	s.htmlHeaders(w, s.o.FrameAncestors)
	w.Header().Set("Cache-Control", "no-store")
	if ask && code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="supportsync widgets", charset="UTF-8"`)
	}
	w.WriteHeader(code)
	widgetpage.RenderError(w, widgetpage.ErrorData{Heading: heading, Message: msg})
}

// tokenMessage turns an access failure into words for a person looking at an embed.
func tokenMessage(code int, reason string) (string, string) {
	switch {
	case reason == errTokenExpired.Error():
		return "This widget link has expired", "The signed link in this embed has expired. Ask an admin for a new embed snippet from the dashboard (/widgets)."
	case code == http.StatusUnauthorized:
		return "This widget link is not valid", "The link's token could not be verified (" + reason + "). Copy the embed snippet again from the dashboard."
	case code == http.StatusForbidden:
		return "Not allowed", "This link does not allow that: " + reason + "."
	case code == http.StatusBadRequest:
		return "Bad request", reason
	default:
		return "Widget unavailable", reason
	}
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	body, ct, ok := widgetpage.Asset(r.PathValue("name"))
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(body)
}

// pageQuery splits a page's query into its filters and its other parameters.
func pageQuery(r *http.Request) (filters, other url.Values, err error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, nil, err
	}
	other = url.Values{}
	for _, k := range pageParams {
		if v, ok := q[k]; ok {
			other[k] = v
			delete(q, k)
		}
	}
	return q, other, nil
}

func theme(o url.Values) string {
	if t := o.Get("theme"); t == "dark" || t == "light" {
		return t
	}
	return ""
}

// page serves GET /widgets/{id} (HTML) and /widgets/{id}.csv or ?format=csv (CSV).
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	id, asCSV := strings.CutSuffix(r.PathValue("id"), ".csv")
	wd, ok := widgets.ByID(id)
	if !ok {
		s.failPage(w, http.StatusNotFound, "No such widget", fmt.Sprintf("There is no widget %q.", clip(id)), false)
		return
	}
	a, code, reason := s.authorize(r)
	if code != 0 {
		h, m := tokenMessage(code, reason)
		s.failPage(w, code, h, m, false)
		return
	}
	q, o, err := pageQuery(r)
	if err != nil {
		s.failPage(w, http.StatusBadRequest, "Bad request", "The query string is not valid URL encoding.", false)
		return
	}
	asCSV = asCSV || o.Get("format") == "csv"
	ans, code, reason := s.answer(r.Context(), wd, a, q)
	if code != 0 {
		h, m := tokenMessage(code, reason)
		s.failPage(w, code, h, m, false)
		return
	}
	fr := s.freshness(r.Context(), ans.l, a.admin)
	// A page is kept with the JSON answers (same dataset, same bound): the same link asked
	// again (an iframe on many screens) is not rendered twice.
	pageKey := fmt.Sprintf("page|%s|%t|%s|%s", wd.ID, a.admin, fr.warning, r.URL.RawQuery)
	if !asCSV {
		if c, ok := s.cached(ans.l, pageKey); ok {
			s.writePage(w, r, c)
			return
		}
	}
	resp, m, err := widgetpage.Build(wd.ID, wd.Title, "", ans.c.body)
	if err != nil {
		s.o.Log.Error("widget page", "event", "widgetapi_error", "widget", wd.ID, "error", err.Error())
		s.failPage(w, http.StatusInternalServerError, "Widget unavailable", "internal error", false)
		return
	}
	if asCSV {
		var b bytes.Buffer
		widgetpage.CSV(&b, m)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s_%s_%s.csv"`, wd.ID, ans.f.From, ans.f.To))
		w.Header().Set("Cache-Control", cacheControl)
		w.Header().Set("Vary", "Authorization")
		w.Write(b.Bytes())
		return
	}
	th := theme(o)
	locked := map[string]bool{}
	if !a.admin {
		for k := range a.claims.Filters {
			locked[k] = true
		}
	}
	keep := url.Values{}
	if tok := r.URL.Query().Get("token"); tok != "" {
		keep.Set("token", tok)
	}
	if th != "" {
		keep.Set("theme", th)
	}
	pd := widgetpage.PageData{
		Head: widgetpage.Head{DocTitle: wd.Title + " · supportsync", Theme: th},
		W:    s.widgetView(wd, resp, m, ans, fr.warning, locked, keep, ""),
		Form: filterForm("/widgets/"+wd.ID, wd.Filters, resp.Filters, locked, keep, wd.IgnoresRange),
	}
	pd.W.OpenTables = len(m.Tables) == 1 && len(m.Tables[0].Rows) <= 12
	var b bytes.Buffer
	if err := widgetpage.RenderPage(&b, pd); err != nil {
		s.o.Log.Error("render widget page", "event", "widgetapi_error", "widget", wd.ID, "error", err.Error())
		s.failPage(w, http.StatusInternalServerError, "Widget unavailable", "internal error", false)
		return
	}
	c := cached{body: b.Bytes(), etag: etagOf(b.Bytes())}
	s.store(ans.l, pageKey, c)
	s.writePage(w, r, c)
}

// writePage sends a widget page with its ETag, answering 304 when the browser has it.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, c cached) {
	s.htmlHeaders(w, s.o.FrameAncestors)
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Add("Vary", "Authorization")
	w.Header().Set("ETag", c.etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == c.etag || inm == "W/"+c.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(c.body)
}

// widgetView is a widget's view model: its numbers and the words around them.
func (s *Server) widgetView(wd widgets.Widget, resp widgetpage.Response, m widgetpage.Model, ans answered, warning string, locked map[string]bool, keep url.Values, open string) widgetpage.Widget {
	asOf, _ := time.Parse(time.RFC3339, resp.AsOf)
	loc := ans.l.ds.Location()
	csvQ := url.Values{}
	for k, v := range keep {
		if k != "theme" {
			csvQ[k] = v
		}
	}
	for k, v := range resp.Filters {
		if !locked[k] {
			csvQ.Set(k, v)
		}
	}
	return widgetpage.Widget{
		ID: wd.ID, Title: wd.Title, Scope: scopeWords(wd, resp.Filters, locked),
		AsOf: asOf.In(loc).Format("Mon 2 Jan 2006, 15:04 MST"), AsOfISO: resp.AsOf,
		Warning: warning, Model: m, CSVURL: "/widgets/" + wd.ID + ".csv?" + csvQ.Encode(), OpenURL: open,
	}
}

// scopeWords says the range and the filters in words.
func scopeWords(wd widgets.Widget, f map[string]string, locked map[string]bool) string {
	var parts []string
	lk := func(k string) string {
		if locked[k] {
			return " (locked)"
		}
		return ""
	}
	if wd.IgnoresRange {
		parts = append(parts, "Open now (the date range does not apply)")
	} else if from, to := f[widgets.FilterFrom], f[widgets.FilterTo]; from != "" {
		a, _ := time.Parse(time.DateOnly, from)
		b, _ := time.Parse(time.DateOnly, to)
		n := int(b.Sub(a).Hours()/24) + 1
		parts = append(parts, fmt.Sprintf("%s to %s (%d days)%s", a.Format("2 Jan 2006"), b.Format("2 Jan 2006"), n, lk(widgets.FilterFrom)+lk(widgets.FilterTo)))
	}
	for _, k := range []string{widgets.FilterPipeline, widgets.FilterAgent, widgets.FilterSource} {
		applies := false
		for _, x := range wd.Filters {
			applies = applies || x == k
		}
		if !applies {
			continue
		}
		v := f[k]
		switch {
		case v != "":
			parts = append(parts, fmt.Sprintf("%s %s%s", k, v, lk(k)))
		case k == widgets.FilterSource:
			parts = append(parts, "tickets and chats")
		default:
			parts = append(parts, "every "+k)
		}
	}
	return strings.Join(parts, " · ")
}

// filterForm is the GET form of the filters a widget (or the dashboard) takes.
func filterForm(action string, names []string, applied map[string]string, locked map[string]bool, keep url.Values, noRange bool) *widgetpage.Form {
	f := &widgetpage.Form{Action: action}
	for _, k := range []string{"token", "theme", "tv", "every", "ttl"} {
		if v := keep.Get(k); v != "" {
			f.Hidden = append(f.Hidden, widgetpage.Hidden{Name: k, Value: v})
		}
	}
	for _, k := range names {
		if noRange && (k == widgets.FilterFrom || k == widgets.FilterTo) {
			continue
		}
		fd := widgetpage.Field{Name: k, Value: applied[k], Locked: locked[k], Type: "text"}
		switch k {
		case widgets.FilterFrom:
			fd.Label, fd.Type = "From", "date"
		case widgets.FilterTo:
			fd.Label, fd.Type = "To", "date"
		case widgets.FilterPipeline:
			fd.Label, fd.Placeholder = "Pipeline", "every pipeline"
		case widgets.FilterAgent:
			fd.Label, fd.Placeholder = "Agent", "every agent"
		case widgets.FilterSource:
			fd.Label = "Source"
			fd.Options = []widgetpage.Option{{Value: "", Label: "tickets and chats"}, {Value: "tickets", Label: "tickets"}, {Value: "chats", Label: "chats"}}
		}
		f.Fields = append(f.Fields, fd)
	}
	return f
}

// fresh is what a page says about the data's freshness.
type fresh struct {
	warning string
	status  widgetpage.StatusView
}

// freshness reads the sync status (at most every statusEvery) and words a warning when the
// data is stale or the last sync failed. Only an admin sees the reasons (run ids, errors).
func (s *Server) freshness(ctx context.Context, l *loaded, admin bool) fresh {
	var fr fresh
	if s.o.Runs == nil {
		if age := s.now().Sub(l.ptr.AsOf); !l.ptr.AsOf.IsZero() && age > s.o.Stale {
			fr.warning = fmt.Sprintf("the data is %s old; the sync may have stopped.", age.Round(time.Minute))
		}
		fr.status = widgetpage.StatusView{Error: "The run ledger is not configured; the sync status is unknown."}
		return fr
	}
	s.statusMu.Lock()
	if s.statusV == nil && s.statusE == nil || s.now().Sub(s.statusAt) >= statusEvery {
		st, err := BuildStatus(ctx, s.o.Runs, &l.ptr, s.o.Stale, s.now())
		s.statusV, s.statusE, s.statusAt = &st, err, s.now()
		if err != nil {
			s.statusV = nil
			s.o.Log.Error("status for a page", "event", "widgetapi_error", "error", err.Error())
		}
	}
	st, err := s.statusV, s.statusE
	s.statusMu.Unlock()
	if err != nil || st == nil {
		fr.status = widgetpage.StatusView{Error: "The sync status is unavailable right now."}
		return fr
	}
	switch st.Overall {
	case "failing":
		fr.warning = "the last sync failed; these numbers may be out of date."
	case "stale":
		fr.warning = "the data may be stale: no source has completed a sync recently."
	}
	if admin && st.Overall != "ok" {
		fr.warning = strings.TrimSuffix(fr.warning, ".") + " (" + st.Reason + ")."
	}
	fr.status = widgetpage.StatusView{Overall: st.Overall, Reason: st.Reason}
	for _, src := range st.Sources {
		line := fmt.Sprintf("%s: %s", src.Source, src.State)
		if src.Cursor != nil {
			line += fmt.Sprintf(", last completed sync %s ago", (time.Duration(src.Cursor.AgeSeconds) * time.Second).Round(time.Minute))
		}
		if len(src.Failed) > 0 {
			line += fmt.Sprintf(", %d of the last runs failed", len(src.Failed))
		}
		fr.status.Sources = append(fr.status.Sources, line)
	}
	return fr
}

// TTLs offered by the dashboard for embed links.
var embedTTLs = []time.Duration{DefaultTTL, 7 * 24 * time.Hour, MaxTTL}

// gallery serves GET /widgets: the dashboard (admin only: the admin key as Bearer, or as the
// password of the browser's login prompt). Every widget under the shared filters, each with
// an embed snippet signed server-side; ?tv=1 shows one widget at a time and moves on by
// itself.
func (s *Server) gallery(w http.ResponseWriter, r *http.Request) { s.renderGallery(w, r, nil) }

// renderGallery serves the dashboard; asked, when not nil, is the Ask box's answer to show.
func (s *Server) renderGallery(w http.ResponseWriter, r *http.Request, asked *widgetpage.AskView) {
	a, code, reason := s.authorize(r)
	if code == 0 && !a.admin {
		code, reason = http.StatusForbidden, "the dashboard needs the admin key"
	}
	if code != 0 {
		s.failPage(w, code, "Log in to the dashboard", "The dashboard needs the admin key (user name: anything, password: the key). "+reason+".", true)
		return
	}
	q, o, err := pageQuery(r)
	if err != nil {
		s.failPage(w, http.StatusBadRequest, "Bad request", "The query string is not valid URL encoding.", false)
		return
	}
	shared := url.Values{}
	for _, k := range []string{widgets.FilterFrom, widgets.FilterTo, widgets.FilterPipeline, widgets.FilterAgent, widgets.FilterSource} {
		if v := q.Get(k); v != "" {
			shared.Set(k, v)
		}
		delete(q, k)
	}
	th := theme(o)
	ttl := DefaultTTL
	if d, err := time.ParseDuration(o.Get("ttl")); err == nil && d > 0 && d <= MaxTTL {
		ttl = d
	}
	tv := o.Get("tv") == "1"
	every, _ := strconv.Atoi(o.Get("every"))
	if every < 5 || every > 600 {
		every = 20
	}
	keep := url.Values{}
	if th != "" {
		keep.Set("theme", th)
	}
	gd := widgetpage.GalleryData{Head: widgetpage.Head{DocTitle: "Support dashboard · supportsync", Theme: th}}
	gd.Ask = s.askView(r, asked)
	if len(q) > 0 {
		var ks []string
		for k := range q {
			ks = append(ks, clip(k))
		}
		gd.Error = "Unknown parameters ignored: " + strings.Join(ks, ", ") + "."
	}
	// The shared filters are checked once against a widget that takes them all.
	all, _ := widgets.ByID("agent-leaderboard")
	if _, c, why := s.answer(r.Context(), all, a, cloneValues(shared)); c == http.StatusBadRequest {
		gd.Error, shared = "The filters were not applied: "+why, url.Values{}
	} else if c != 0 {
		h, m := tokenMessage(c, why)
		s.failPage(w, c, h, m, false)
		return
	}
	base := baseURL(r)
	list := widgets.All
	idx := 0
	if tv {
		idx, _ = strconv.Atoi(o.Get("i"))
		idx = ((idx % len(list)) + len(list)) % len(list)
		list = list[idx : idx+1]
	}
	var fr *fresh
	for _, wd := range list {
		wq := url.Values{}
		for _, k := range wd.Filters {
			if v := shared.Get(k); v != "" && !(wd.IgnoresRange && (k == widgets.FilterFrom || k == widgets.FilterTo)) {
				wq.Set(k, v)
			}
		}
		card := widgetpage.Card{W: widgetpage.Widget{ID: wd.ID, Title: wd.Title, Heading2: !tv}}
		ans, c, why := s.answer(r.Context(), wd, a, cloneValues(wq))
		if c != 0 {
			card.Error = why
			gd.Cards = append(gd.Cards, card)
			continue
		}
		if fr == nil {
			f := s.freshness(r.Context(), ans.l, true)
			fr = &f
		}
		resp, m, err := widgetpage.Build(wd.ID, wd.Title, "", ans.c.body)
		if err != nil {
			card.Error = "internal error"
			gd.Cards = append(gd.Cards, card)
			continue
		}
		open := "/widgets/" + wd.ID
		card.W = s.widgetView(wd, resp, m, ans, fr.warning, nil, keep, open)
		card.W.Heading2 = !tv
		card.W.OpenTables = tv && len(m.Tables) == 1 && len(m.Tables[0].Rows) <= 8
		// The embed locks the filters chosen here; an unset range stays rolling.
		claims, err := NewClaims(wd.ID, valuesMap(wq), ttl, s.now())
		if err == nil && s.o.Signer != nil {
			if tok, err := s.o.Signer.Mint(claims); err == nil {
				eq := url.Values{"token": {tok}}
				src := base + "/widgets/" + wd.ID + "?" + eq.Encode()
				card.Embed = fmt.Sprintf(`<iframe src="%s" title="%s" width="100%%" height="480" loading="lazy" referrerpolicy="no-referrer"></iframe>`, src, wd.Title)
				card.Expires = time.Unix(claims.Expires, 0).In(ans.l.ds.Location()).Format("2 Jan 2006 15:04 MST")
				card.W.OpenURL = "/widgets/" + wd.ID + "?" + eq.Encode()
			}
		}
		gd.Cards = append(gd.Cards, card)
	}
	if fr != nil {
		gd.Status = fr.status
	} else {
		gd.Status = widgetpage.StatusView{Error: "No widget data could be read."}
	}
	formKeep := cloneValues(keep)
	if ttl != DefaultTTL {
		formKeep.Set("ttl", ttl.String())
	}
	gd.Form = *filterForm("/widgets", []string{widgets.FilterFrom, widgets.FilterTo, widgets.FilterPipeline, widgets.FilterAgent, widgets.FilterSource}, valuesMap(shared), nil, formKeep, false)
	ttlField := widgetpage.Field{Name: "ttl", Label: "Embed links expire after", Value: ttl.String()}
	for _, d := range embedTTLs {
		label := fmt.Sprintf("%d days", int(d.Hours()/24))
		if d == 24*time.Hour {
			label = "1 day"
		}
		ttlField.Options = append(ttlField.Options, widgetpage.Option{Value: d.String(), Label: label})
	}
	gd.Form.Fields = append(gd.Form.Fields, ttlField)
	gd.Form.Hidden = removeHidden(gd.Form.Hidden, "ttl")
	tvq := cloneValues(shared)
	for k, v := range keep {
		tvq[k] = v
	}
	tvq.Set("tv", "1")
	gd.TVURL = "/widgets?" + tvq.Encode()
	if tv {
		gd.TV, gd.TVIndex, gd.TVCount, gd.TVEvery = true, idx+1, len(widgets.All), every
		tvq.Set("every", strconv.Itoa(every))
		tvq.Set("i", strconv.Itoa((idx+1)%len(widgets.All)))
		gd.Refresh = fmt.Sprintf("%d;url=/widgets?%s", every, tvq.Encode())
		exit := cloneValues(shared)
		for k, v := range keep {
			exit[k] = v
		}
		gd.ExitTV = "/widgets?" + exit.Encode()
	}
	var b bytes.Buffer
	if err := widgetpage.RenderGallery(&b, gd); err != nil {
		s.o.Log.Error("render dashboard", "event", "widgetapi_error", "error", err.Error())
		s.failPage(w, http.StatusInternalServerError, "Dashboard unavailable", "internal error", false)
		return
	}
	s.htmlHeaders(w, nil)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

func removeHidden(hs []widgetpage.Hidden, name string) []widgetpage.Hidden {
	out := hs[:0]
	for _, h := range hs {
		if h.Name != name {
			out = append(out, h)
		}
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}

func valuesMap(v url.Values) map[string]string {
	m := map[string]string{}
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

// baseURL is the scheme and host the request came to (Cloud Run sets X-Forwarded-Proto).
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
