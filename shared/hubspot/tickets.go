package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// API paths, relative to the base URL.
const (
	PathTickets       = "/crm/v3/objects/tickets"
	PathTicketsSearch = "/crm/v3/objects/tickets/search"
	PathOwners        = "/crm/v3/owners"
	PathPipelines     = "/crm/v3/pipelines/tickets"
)

// Page sizes and the search ceiling.
const (
	MaxListLimit   = 100    // list endpoint page size maximum
	MaxSearchLimit = 200    // search page size maximum
	SearchCap      = 10_000 // search results reachable per query: after+limit beyond it is a 400
)

// SearchRequest is the body of POST /crm/v3/objects/tickets/search
// (PublicObjectSearchRequest).
type SearchRequest struct {
	FilterGroups []FilterGroup `json:"filterGroups"`
	Sorts        []Sort        `json:"sorts,omitempty"`
	Properties   []string      `json:"properties,omitempty"`
	Limit        int           `json:"limit,omitempty"`
	After        string        `json:"after,omitempty"`
}

// FilterGroup is a set of filters that must all match; groups are ORed.
type FilterGroup struct {
	Filters []Filter `json:"filters"`
}

// Filter is one search condition. Date-time values are epoch milliseconds as strings.
type Filter struct {
	PropertyName string   `json:"propertyName"`
	Operator     string   `json:"operator"` // EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, …
	Value        string   `json:"value,omitempty"`
	HighValue    string   `json:"highValue,omitempty"` // BETWEEN upper bound (inclusive)
	Values       []string `json:"values,omitempty"`
}

// Sort orders search results; HubSpot honours one.
type Sort struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"` // ASCENDING or DESCENDING
}

// SearchQuery selects tickets by last-modified time: hs_lastmodifieddate in
// [ModifiedFrom, ModifiedTo), oldest first. A zero bound is left open.
type SearchQuery struct {
	ModifiedFrom time.Time
	ModifiedTo   time.Time
	After        string // result offset from the previous page's Next
	Limit        int    // default and maximum 200
}

// ListQuery selects a page of the list endpoint.
type ListQuery struct {
	After    string // opaque cursor from the previous page's Next
	Limit    int    // default and maximum 100
	Archived bool   // true lists only archived tickets
}

// TicketPage is one page of tickets. Next is empty on the last page; Total is the number of
// matches a search reports (0 for the list endpoint).
type TicketPage struct {
	Tickets []Ticket
	Next    string
	Total   int
}

// flexString decodes a JSON string or number as a string ("after" is seen as both).
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	*f = flexString(b)
	return nil
}

// paging is the paging object of list and search answers.
type paging struct {
	Next *struct {
		After flexString `json:"after"`
		Link  string     `json:"link,omitempty"`
	} `json:"next"`
}

func (p *paging) after() string {
	if p == nil || p.Next == nil {
		return ""
	}
	return string(p.Next.After)
}

type ticketsResponse struct {
	Total   int      `json:"total"`
	Results []Ticket `json:"results"`
	Paging  *paging  `json:"paging"`
}

// Millis formats t as the epoch-milliseconds string HubSpot's filters take.
func Millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// SearchTickets returns one page of tickets whose hs_lastmodifieddate is in
// [q.ModifiedFrom, q.ModifiedTo), sorted by hs_lastmodifieddate ascending, with
// TicketProperties. Search never returns archived tickets and reaches at most 10,000 results
// per query; Client.Next's incremental cursor gets past that.
func (c *Client) SearchTickets(ctx context.Context, q SearchQuery) (*TicketPage, error) {
	var fs []Filter
	if !q.ModifiedFrom.IsZero() {
		fs = append(fs, Filter{PropertyName: "hs_lastmodifieddate", Operator: "GTE", Value: Millis(q.ModifiedFrom)})
	}
	if !q.ModifiedTo.IsZero() {
		fs = append(fs, Filter{PropertyName: "hs_lastmodifieddate", Operator: "LT", Value: Millis(q.ModifiedTo)})
	}
	req := SearchRequest{
		Sorts:      []Sort{{PropertyName: "hs_lastmodifieddate", Direction: "ASCENDING"}},
		Properties: TicketProperties,
		Limit:      q.Limit,
		After:      q.After,
	}
	if len(fs) > 0 {
		req.FilterGroups = []FilterGroup{{Filters: fs}}
	}
	return c.Search(ctx, req)
}

// Search sends a raw ticket search. A zero Limit becomes 200 and nil Properties become
// TicketProperties.
func (c *Client) Search(ctx context.Context, req SearchRequest) (*TicketPage, error) {
	if req.Limit <= 0 || req.Limit > MaxSearchLimit {
		req.Limit = MaxSearchLimit
	}
	if req.Properties == nil {
		req.Properties = TicketProperties
	}
	if req.FilterGroups == nil {
		req.FilterGroups = []FilterGroup{}
	}
	var resp ticketsResponse
	if err := c.do(ctx, request{method: "POST", path: PathTicketsSearch, body: req, search: true}, &resp); err != nil {
		return nil, err
	}
	return &TicketPage{Tickets: resp.Results, Next: resp.Paging.after(), Total: resp.Total}, nil
}

// ListTickets returns one page of the list endpoint (ordered by id) with TicketProperties.
func (c *Client) ListTickets(ctx context.Context, q ListQuery) (*TicketPage, error) {
	if q.Limit <= 0 || q.Limit > MaxListLimit {
		q.Limit = MaxListLimit
	}
	v := url.Values{}
	v.Set("limit", strconv.Itoa(q.Limit))
	v.Set("properties", strings.Join(TicketProperties, ","))
	v.Set("archived", strconv.FormatBool(q.Archived))
	if q.After != "" {
		v.Set("after", q.After)
	}
	var resp ticketsResponse
	if err := c.do(ctx, request{method: "GET", path: PathTickets, query: v}, &resp); err != nil {
		return nil, err
	}
	return &TicketPage{Tickets: resp.Results, Next: resp.Paging.after()}, nil
}

// Owners returns every owner, active ones first, then archived (deactivated) ones, which
// tickets may still reference.
func (c *Client) Owners(ctx context.Context) ([]Owner, error) {
	var all []Owner
	for _, archived := range []bool{false, true} {
		after := ""
		for {
			v := url.Values{}
			v.Set("limit", "100")
			v.Set("archived", strconv.FormatBool(archived))
			if after != "" {
				v.Set("after", after)
			}
			var resp struct {
				Results []Owner `json:"results"`
				Paging  *paging `json:"paging"`
			}
			if err := c.do(ctx, request{method: "GET", path: PathOwners, query: v}, &resp); err != nil {
				return nil, err
			}
			for i := range resp.Results {
				if archived {
					resp.Results[i].Archived = true
				}
			}
			all = append(all, resp.Results...)
			next := resp.Paging.after()
			if next == "" {
				break
			}
			if next == after {
				return nil, fmt.Errorf("hubspot: %s: paging cursor %q repeats", PathOwners, next)
			}
			after = next
		}
	}
	return all, nil
}

// Pipelines returns the ticket pipelines with their stages.
func (c *Client) Pipelines(ctx context.Context) ([]Pipeline, error) {
	var resp struct {
		Results []Pipeline `json:"results"`
	}
	if err := c.do(ctx, request{method: "GET", path: PathPipelines}, &resp); err != nil {
		return nil, err
	}
	return resp.Results, nil
}

// Check makes one cheap authenticated call (GET /crm/v3/owners?limit=1) to test the base URL
// and the token. A bad token gives an *APIError with status 401.
func (c *Client) Check(ctx context.Context) error {
	v := url.Values{"limit": {"1"}}
	var resp json.RawMessage
	return c.do(ctx, request{method: "GET", path: PathOwners, query: v}, &resp)
}
