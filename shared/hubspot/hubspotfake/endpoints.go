package hubspotfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"supportsync.dev/shared/hubspot"
)

// wireTicket is a ticket as the API writes it.
type wireTicket struct {
	ID         string             `json:"id"`
	Properties map[string]*string `json:"properties"`
	CreatedAt  string             `json:"createdAt"`
	UpdatedAt  string             `json:"updatedAt"`
	Archived   bool               `json:"archived"`
	ArchivedAt string             `json:"archivedAt,omitempty"`
}

type wirePaging struct {
	Next struct {
		After string `json:"after"`
		Link  string `json:"link,omitempty"`
	} `json:"next"`
}

type wirePage struct {
	Total   *int         `json:"total,omitempty"`
	Results []wireTicket `json:"results"`
	Paging  *wirePaging  `json:"paging,omitempty"`
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// defaultProps are returned whatever the request asks for.
var defaultProps = []string{"createdate", "hs_lastmodifieddate", "hs_object_id"}

// wire renders r with the requested properties (nil: the default set); a requested property
// the ticket lacks is null, as HubSpot does.
func wire(r *rec, props []string) wireTicket {
	t := r.t
	m := make(map[string]*string, len(props)+3)
	if props == nil {
		props = []string{"subject", "content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority", "hs_ticket_category"}
	}
	for _, p := range props {
		m[p] = t.Properties[p]
	}
	for _, p := range defaultProps {
		if v, ok := t.Properties[p]; ok {
			m[p] = v
		}
	}
	w := wireTicket{ID: t.ID, Properties: m, CreatedAt: iso(time.UnixMilli(r.created)),
		UpdatedAt: iso(time.UnixMilli(r.modified)), Archived: t.Archived}
	if t.ArchivedAt != nil {
		w.ArchivedAt = iso(*t.ArchivedAt)
	}
	return w
}

func badRequest(msg string) *apiErr {
	return &apiErr{http.StatusBadRequest, "VALIDATION_ERROR", msg}
}

// list serves GET /crm/v3/objects/tickets: ascending id, after = id of the next ticket.
func (s *Server) list(r *http.Request) (any, *apiErr) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > hubspot.MaxListLimit {
			return nil, badRequest(fmt.Sprintf("limit must be between 1 and %d, got %q", hubspot.MaxListLimit, v))
		}
		limit = n
	}
	var props []string
	for _, v := range q["properties"] {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				props = append(props, p)
			}
		}
	}
	var after int64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("unable to deserialize field \"after\": %q", v))
		}
		after = n
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	recs := s.active
	if q.Get("archived") == "true" {
		recs = s.archived
	}
	i := sort.Search(len(recs), func(i int) bool { return recs[i].id >= after })
	end := min(i+limit, len(recs))
	page := wirePage{Results: make([]wireTicket, 0, end-i)}
	for _, rc := range recs[i:end] {
		page.Results = append(page.Results, wire(rc, props))
	}
	if end < len(recs) {
		page.Paging = &wirePaging{}
		page.Paging.Next.After = strconv.FormatInt(recs[end].id, 10)
		page.Paging.Next.Link = fmt.Sprintf("%s?after=%d&limit=%d", hubspot.PathTickets, recs[end].id, limit)
	}
	return page, nil
}

// filter is a compiled search filter.
type filter struct {
	prop    string
	op      string
	num     bool // numeric (date-time as epoch ms, or id)
	v, hi   int64
	s       string
	values  []string
	hasProp bool
}

// key returns r's numeric value for a numeric property.
func numKey(r *rec, prop string) int64 {
	switch prop {
	case "hs_lastmodifieddate":
		return r.modified
	case "createdate":
		return r.created
	}
	return r.id
}

func isNumProp(p string) bool {
	return p == "hs_lastmodifieddate" || p == "createdate" || p == "hs_object_id"
}

// parseNum reads epoch ms, an ISO 8601 date-time or an integer.
func parseNum(prop, v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	if prop != "hs_object_id" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("invalid value %q for property %s", v, prop)
}

func compile(f hubspot.Filter) (filter, error) {
	c := filter{prop: f.PropertyName, op: strings.ToUpper(f.Operator), s: f.Value, values: f.Values}
	switch c.op {
	case "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY":
	default:
		return c, fmt.Errorf("unsupported operator %q", f.Operator)
	}
	if !isNumProp(c.prop) || c.op == "IN" || c.op == "NOT_IN" || c.op == "HAS_PROPERTY" || c.op == "NOT_HAS_PROPERTY" {
		if c.op != "EQ" && c.op != "NEQ" && c.op != "IN" && c.op != "NOT_IN" && c.op != "HAS_PROPERTY" && c.op != "NOT_HAS_PROPERTY" {
			return c, fmt.Errorf("operator %s is not supported on %s by this fake", c.op, c.prop)
		}
		return c, nil
	}
	c.num = true
	var err error
	if c.v, err = parseNum(c.prop, f.Value); err != nil {
		return c, err
	}
	if c.op == "BETWEEN" {
		if c.hi, err = parseNum(c.prop, f.HighValue); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (f *filter) match(r *rec) bool {
	if f.num {
		k := numKey(r, f.prop)
		switch f.op {
		case "EQ":
			return k == f.v
		case "NEQ":
			return k != f.v
		case "LT":
			return k < f.v
		case "LTE":
			return k <= f.v
		case "GT":
			return k > f.v
		case "GTE":
			return k >= f.v
		case "BETWEEN":
			return k >= f.v && k <= f.hi
		}
		return false
	}
	v := r.t.Prop(f.prop)
	switch f.op {
	case "EQ":
		return strings.EqualFold(v, f.s)
	case "NEQ":
		return !strings.EqualFold(v, f.s)
	case "IN":
		return slices.ContainsFunc(f.values, func(x string) bool { return strings.EqualFold(x, v) })
	case "NOT_IN":
		return !slices.ContainsFunc(f.values, func(x string) bool { return strings.EqualFold(x, v) })
	case "HAS_PROPERTY":
		return v != ""
	case "NOT_HAS_PROPERTY":
		return v == ""
	}
	return false
}

// search serves POST /crm/v3/objects/tickets/search.
func (s *Server) search(r *http.Request) (any, *apiErr) {
	var req hubspot.SearchRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest("Invalid input JSON: " + err.Error())
	}
	limit := req.Limit
	if limit == 0 {
		limit = 10
	}
	if limit < 0 || limit > hubspot.MaxSearchLimit {
		return nil, badRequest(fmt.Sprintf("limit must be between 1 and %d", hubspot.MaxSearchLimit))
	}
	after := 0
	if req.After != "" {
		n, err := strconv.Atoi(req.After)
		if err != nil || n < 0 {
			return nil, badRequest(fmt.Sprintf("unable to deserialize field \"after\": %q", req.After))
		}
		after = n
	}
	if after+limit > hubspot.SearchCap {
		return nil, badRequest(fmt.Sprintf("There was a problem with the request: paging past %d results is not allowed (after=%d, limit=%d).", hubspot.SearchCap, after, limit))
	}
	if len(req.FilterGroups) > 5 {
		return nil, badRequest("too many filter groups (max 5)")
	}
	groups := make([][]filter, 0, len(req.FilterGroups))
	for _, g := range req.FilterGroups {
		if len(g.Filters) > 6 {
			return nil, badRequest("too many filters in a group (max 6)")
		}
		var cg []filter
		for _, f := range g.Filters {
			c, err := compile(f)
			if err != nil {
				return nil, badRequest(err.Error())
			}
			cg = append(cg, c)
		}
		groups = append(groups, cg)
	}
	sortProp, desc := "hs_object_id", false
	if len(req.Sorts) > 0 {
		sortProp = req.Sorts[0].PropertyName
		desc = strings.EqualFold(req.Sorts[0].Direction, "DESCENDING")
	}
	if !isNumProp(sortProp) {
		return nil, badRequest("this fake sorts only by hs_lastmodifieddate, createdate or hs_object_id")
	}

	matches := s.matches(req, groups, sortProp, desc)
	end := min(after+limit, len(matches))
	total := len(matches)
	page := wirePage{Total: &total, Results: []wireTicket{}}
	props := req.Properties
	if len(props) == 0 {
		props = nil
	}
	if after < len(matches) {
		s.mu.RLock()
		for _, rc := range matches[after:end] {
			page.Results = append(page.Results, wire(rc, props))
		}
		s.mu.RUnlock()
	}
	if end < len(matches) {
		page.Paging = &wirePaging{}
		page.Paging.Next.After = strconv.Itoa(end)
	}
	return page, nil
}

// matches returns the tickets matching the groups in sort order, cached by query for the
// current data version so that paging through one query costs one scan.
func (s *Server) matches(req hubspot.SearchRequest, groups [][]filter, sortProp string, desc bool) []*rec {
	kb, _ := json.Marshal(struct {
		G []hubspot.FilterGroup
		S string
		D bool
	}{req.FilterGroups, sortProp, desc})
	key := string(kb)
	s.mu.RLock()
	if s.cacheVer == s.version {
		if m, ok := s.cache[key]; ok {
			s.mu.RUnlock()
			return m
		}
	}
	var out []*rec
	for _, r := range s.active {
		if matchGroups(groups, r) {
			out = append(out, r)
		}
	}
	ver := s.version
	s.mu.RUnlock()

	slices.SortStableFunc(out, func(a, b *rec) int {
		c := cmpInt(numKey(a, sortProp), numKey(b, sortProp))
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmpInt(a.id, b.id)
		}
		return c
	})
	s.mu.Lock()
	if s.cacheVer != s.version || s.cache == nil || len(s.cache) > 32 {
		s.cache, s.cacheVer = map[string][]*rec{}, s.version
	}
	if ver == s.version {
		s.cache[key] = out
	}
	s.mu.Unlock()
	return out
}

func matchGroups(groups [][]filter, r *rec) bool {
	if len(groups) == 0 {
		return true
	}
	for _, g := range groups {
		ok := true
		for i := range g {
			if !g[i].match(r) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// listOwners serves GET /crm/v3/owners; after is the index of the next owner.
func (s *Server) listOwners(r *http.Request) (any, *apiErr) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return nil, badRequest("limit must be between 1 and 500")
		}
		limit = n
	}
	archived := q.Get("archived") == "true"
	email := q.Get("email")
	s.mu.RLock()
	var sel []hubspot.Owner
	for _, o := range s.owners {
		if o.Archived == archived && (email == "" || strings.EqualFold(email, o.Email)) {
			sel = append(sel, o)
		}
	}
	s.mu.RUnlock()
	start := 0
	if v := q.Get("after"); v != "" {
		i := slices.IndexFunc(sel, func(o hubspot.Owner) bool { return o.ID == v })
		if i < 0 {
			return nil, badRequest(fmt.Sprintf("unable to deserialize field \"after\": %q", v))
		}
		start = i
	}
	end := min(start+limit, len(sel))
	type wireOwner struct {
		hubspot.Owner
		CreatedAt string `json:"createdAt"`
		UpdatedAt string `json:"updatedAt"`
	}
	res := make([]wireOwner, 0, end-start)
	for _, o := range sel[start:end] {
		res = append(res, wireOwner{Owner: o, CreatedAt: "2019-12-25T13:01:35.228Z", UpdatedAt: "2026-01-08T10:22:41.012Z"})
	}
	out := map[string]any{"results": res}
	if end < len(sel) {
		p := &wirePaging{}
		p.Next.After = sel[end].ID
		p.Next.Link = "?after=" + sel[end].ID
		out["paging"] = p
	}
	return out, nil
}
