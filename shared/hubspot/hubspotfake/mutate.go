package hubspotfake

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"supportsync.dev/shared/hubspot"
)

// Add stores a new ticket and returns its id. An empty ID gets the next free id; missing
// createdate / hs_lastmodifieddate come from CreatedAt / UpdatedAt, or from at.
func (s *Server) Add(t hubspot.Ticket, at time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == "" {
		var maxID int64 = 2217483000
		if n := len(s.active); n > 0 {
			maxID = max(maxID, s.active[n-1].id)
		}
		if n := len(s.archived); n > 0 {
			maxID = max(maxID, s.archived[n-1].id)
		}
		t.ID = strconv.FormatInt(maxID+1, 10)
	}
	if _, ok := s.byID[t.ID]; ok {
		return "", fmt.Errorf("hubspotfake: ticket %s exists", t.ID)
	}
	at = at.UTC().Truncate(time.Millisecond)
	if t.CreatedAt.IsZero() {
		t.CreatedAt = at
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = at
	}
	props := maps.Clone(t.Properties)
	if props == nil {
		props = map[string]*string{}
	}
	setDefault := func(k, v string) {
		if props[k] == nil {
			props[k] = &v
		}
	}
	setDefault("hs_object_id", t.ID)
	setDefault("createdate", iso(t.CreatedAt))
	setDefault("hs_lastmodifieddate", iso(t.UpdatedAt))
	t.Properties = props
	t.Archived, t.ArchivedAt = false, nil
	r := newRec(&t)
	if r.id == 0 {
		return "", fmt.Errorf("hubspotfake: ticket id %q is not numeric", t.ID)
	}
	i, _ := slices.BinarySearchFunc(s.active, r.id, func(a *rec, id int64) int { return cmpInt(a.id, id) })
	s.active = slices.Insert(s.active, i, r)
	s.byID[t.ID] = r
	s.version++
	return t.ID, nil
}

// Update sets properties of an active ticket (a nil value clears one) and bumps
// hs_lastmodifieddate and updatedAt to at.
func (s *Server) Update(id string, props map[string]*string, at time.Time) error {
	return s.UpdateMany([]string{id}, props, at)
}

// UpdateMany applies Update to every id at once (one data version), for example to give
// thousands of tickets the same modified time.
func (s *Server) UpdateMany(ids []string, props map[string]*string, at time.Time) error {
	at = at.UTC().Truncate(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		r, ok := s.byID[id]
		if !ok || r.t.Archived {
			return fmt.Errorf("hubspotfake: no active ticket %s", id)
		}
		t := *r.t // copy on write: the dataset and earlier answers keep theirs
		t.Properties = maps.Clone(t.Properties)
		maps.Copy(t.Properties, props)
		mod := iso(at)
		t.Properties["hs_lastmodifieddate"] = &mod
		t.UpdatedAt = at
		r.t = &t
		r.modified = at.UnixMilli()
	}
	s.version++
	return nil
}

// Reassign sets a ticket's hubspot_owner_id ("" unassigns) at time at.
func (s *Server) Reassign(id, ownerID string, at time.Time) error {
	var v *string
	if ownerID != "" {
		v = &ownerID
	}
	return s.Update(id, map[string]*string{"hubspot_owner_id": v}, at)
}

// Archive moves a ticket to the archived list (archived=true, archivedAt = at); search and
// the default list no longer return it.
func (s *Server) Archive(id string, at time.Time) error {
	at = at.UTC().Truncate(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok || r.t.Archived {
		return fmt.Errorf("hubspotfake: no active ticket %s", id)
	}
	t := *r.t
	t.Archived, t.ArchivedAt, t.UpdatedAt = true, &at, at
	r.t = &t
	r.modified = at.UnixMilli()
	i, found := slices.BinarySearchFunc(s.active, r.id, func(a *rec, id int64) int { return cmpInt(a.id, id) })
	if found {
		s.active = slices.Delete(s.active, i, i+1)
	}
	j, _ := slices.BinarySearchFunc(s.archived, r.id, func(a *rec, id int64) int { return cmpInt(a.id, id) })
	s.archived = slices.Insert(s.archived, j, r)
	s.version++
	return nil
}

// Ticket returns a copy of a stored ticket (active or archived).
func (s *Server) Ticket(id string) (hubspot.Ticket, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byID[id]
	if !ok {
		return hubspot.Ticket{}, false
	}
	t := *r.t
	t.Properties = maps.Clone(t.Properties)
	return t, true
}

// IDs returns the ids of the active (or archived) tickets for which keep returns true (nil
// keeps all), in ascending order.
func (s *Server) IDs(archived bool, keep func(hubspot.Ticket) bool) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	recs := s.active
	if archived {
		recs = s.archived
	}
	var out []string
	for _, r := range recs {
		if keep == nil || keep(*r.t) {
			out = append(out, r.t.ID)
		}
	}
	return out
}

// SetOwners replaces the owners (Archived marks deactivated ones).
func (s *Server) SetOwners(owners []hubspot.Owner) {
	s.mu.Lock()
	s.owners = slices.Clone(owners)
	s.mu.Unlock()
}
