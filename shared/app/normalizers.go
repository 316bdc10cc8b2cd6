package app

import (
	"supportsync.dev/shared/batch"
	"supportsync.dev/shared/normalize/chats"
	"supportsync.dev/shared/normalize/tickets"
	"supportsync.dev/shared/process"
	"supportsync.dev/shared/table"
)

// Normalizers are the sources process lands, by name: each decodes its source's payload and
// normalizes it into its tab. process knows them only through this map.
func Normalizers() map[batch.Source]process.Normalizer {
	return map[batch.Source]process.Normalizer{
		batch.Tickets: {Schema: table.Tickets, Normalize: tickets.NormalizeJSON},
		batch.Chats:   {Schema: table.Chats, Normalize: chats.NormalizeJSON},
	}
}
