package process

import (
	"encoding/json"
	"fmt"
	"time"

	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/hubspot"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/normalize"
	"supportsync.dev/shared/table"
	"supportsync.dev/shared/team"
)

// TicketsNormalizer normalizes HubSpot ticket batches into the Tickets tab.
var TicketsNormalizer = Normalizer{
	Schema: table.Tickets,
	Normalize: func(payload json.RawMessage, tc *team.Config, syncedAt time.Time) (normalize.Result, error) {
		var p hubspot.Payload
		if err := json.Unmarshal(payload, &p); err != nil {
			return normalize.Result{}, fmt.Errorf("tickets payload: %w", err)
		}
		return normalize.Tickets(p, tc, syncedAt), nil
	},
}

// ChatsNormalizer normalizes LiveChat thread batches into the Chats tab.
var ChatsNormalizer = Normalizer{
	Schema: table.Chats,
	Normalize: func(payload json.RawMessage, tc *team.Config, syncedAt time.Time) (normalize.Result, error) {
		var p livechat.Payload
		if err := json.Unmarshal(payload, &p); err != nil {
			return normalize.Result{}, fmt.Errorf("chats payload: %w", err)
		}
		return normalize.Chats(p, tc, syncedAt), nil
	},
}

// Normalizers are the sources process knows, by name.
func Normalizers() map[batch.Source]Normalizer {
	return map[batch.Source]Normalizer{batch.Tickets: TicketsNormalizer, batch.Chats: ChatsNormalizer}
}
