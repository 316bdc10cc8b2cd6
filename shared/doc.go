// Package shared is the library behind every supportsync function: the sync logic lives in
// its subpackages, one per concern (table, batch, team, normalize, hubspot, sheets, state, …),
// and the function modules under functions/ are thin adapters over it.
package shared
