package hubspot

import "time"

// Ticket is a HubSpot ticket object as the CRM v3 API returns it. Property values are strings
// or null whatever the property type; nil and "" both mean "no value".
type Ticket struct {
	ID         string             `json:"id"`
	Properties map[string]*string `json:"properties"`
	CreatedAt  time.Time          `json:"createdAt,omitzero"`
	UpdatedAt  time.Time          `json:"updatedAt,omitzero"`
	Archived   bool               `json:"archived"`
	ArchivedAt *time.Time         `json:"archivedAt,omitempty"`
}

// Prop returns a property's value, "" when it is missing or null.
func (t *Ticket) Prop(name string) string {
	if v := t.Properties[name]; v != nil {
		return *v
	}
	return ""
}

// Owner is a HubSpot owner (GET /crm/v3/owners). ID is the value tickets carry in
// hubspot_owner_id; archived (deactivated) owners are listed too.
type Owner struct {
	ID        string `json:"id"`
	Email     string `json:"email,omitempty"`
	Type      string `json:"type,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	UserID    int64  `json:"userId,omitempty"`
	Archived  bool   `json:"archived"`
}

// Pipeline is a ticket pipeline with its stages (GET /crm/v3/pipelines/tickets).
type Pipeline struct {
	ID           string  `json:"id"`
	Label        string  `json:"label"`
	DisplayOrder int     `json:"displayOrder"`
	Archived     bool    `json:"archived"`
	Stages       []Stage `json:"stages"`
}

// Stage is one pipeline stage; Metadata["ticketState"] is OPEN or CLOSED.
type Stage struct {
	ID           string            `json:"id"`
	Label        string            `json:"label"`
	DisplayOrder int               `json:"displayOrder"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	Archived     bool              `json:"archived"`
}

// Payload is the content of a tickets raw batch: the tickets as fetched plus the reference
// data needed to normalize them alone.
type Payload struct {
	Tickets   []Ticket   `json:"tickets"`
	Owners    []Owner    `json:"owners"`
	Pipelines []Pipeline `json:"pipelines"`
}

// TicketProperties are the ticket properties every fetch requests.
var TicketProperties = []string{
	"subject", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority", "hs_ticket_category",
	"source_type", "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "closed_date",
	"first_agent_reply_date", "time_to_first_agent_reply", "time_to_close",
}
