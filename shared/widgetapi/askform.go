package widgetapi

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"supportsync.dev/shared/ask"
	"supportsync.dev/shared/widgetpage"
	"supportsync.dev/shared/widgets"
)

// askForm serves POST /widgets/ask, the dashboard's Ask box. The dashboard runs no
// JavaScript (its policy is script-src 'none'), so the box is a plain HTML form: the question
// is answered here, by the same engine, budget and limits as POST /api/v1/ask, and the
// dashboard is rendered again with the answer and each fact as a link to its widget page with
// those filters. The action keeps the dashboard's query, so its filters stay as they were.
// Only the admin may ask (the dashboard is the admin's), and only from the dashboard itself: a
// form posted from another site (the browser would send the admin's remembered Basic
// credentials along) is refused before it can spend the day's budget.
func (s *Server) askForm(w http.ResponseWriter, r *http.Request) {
	a, code, reason := s.authorize(r)
	if code == 0 && !a.admin {
		code, reason = http.StatusForbidden, "the dashboard needs the admin key"
	}
	if code != 0 {
		s.failPage(w, code, "Log in to the dashboard", "The dashboard needs the admin key (user name: anything, password: the key). "+reason+".", true)
		return
	}
	if !sameOrigin(r) {
		s.failPage(w, http.StatusForbidden, "Question refused", "Questions are taken only from this dashboard's own form.", false)
		return
	}
	av := &widgetpage.AskView{}
	if st := s.AskAvailable(); !st.Enabled {
		av.Error = st.Reason
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			av.Error = "The question could not be read (a form under 8 KiB, please)."
		} else {
			av.Question = r.PostForm.Get("question")
			res, code, reason, _ := s.answerQuestion(r.Context(), av.Question)
			if code != 0 {
				av.Error = reason
			} else {
				fillAskView(av, res)
			}
		}
	}
	s.renderGallery(w, r, av)
}

// askView is the dashboard's Ask box: shown when a model is configured, posting to
// /widgets/ask with the dashboard's own query; asked carries an answer to show.
func (s *Server) askView(r *http.Request, asked *widgetpage.AskView) widgetpage.AskView {
	var v widgetpage.AskView
	if asked != nil {
		v = *asked
	}
	v.Enabled = s.AskAvailable().Enabled
	v.Action = "/widgets/ask"
	if r.URL.RawQuery != "" {
		v.Action += "?" + r.URL.RawQuery
	}
	return v
}

// fillAskView puts an answer and its facts into the box.
func fillAskView(v *widgetpage.AskView, res ask.Result) {
	v.Answer = res.Answer
	how := "every number in it was checked against the widgets"
	if !res.Grounded {
		how = "the facts alone"
	}
	v.Note = "Answered by " + res.Model + " from data as of " + res.AsOf + ": " + how + "."
	for _, f := range res.Facts {
		label := f.Widget
		if wd, ok := widgets.ByID(f.Widget); ok {
			label = wd.Title
		}
		keys := make([]string, 0, len(f.Filters))
		for k := range f.Filters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+" "+f.Filters[k])
		}
		if len(parts) > 0 {
			label += " (" + strings.Join(parts, ", ") + ")"
		}
		v.Facts = append(v.Facts, widgetpage.AskFact{Label: label, Link: f.Link})
	}
}

// sameOrigin reports whether a form post comes from a page of this server: the browser's
// Sec-Fetch-Site says same-origin, or (older browsers) its Origin is this host. A request
// with neither header (not a browser: curl, a test) is taken, as the admin key is required.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true
}
