// Package livechat is a client for the parts of the LiveChat (Text) API v3.5 that supportsync
// reads: the chat archive (agent/action/list_archives, one entry per thread) and the reference
// data needed to normalize it (configuration/action/list_agents, list_bots with all:true,
// list_groups). It authenticates with a Personal Access Token (HTTP Basic, account id and
// PAT), paces itself with a token bucket, retries what is worth retrying within the caller's
// deadline, and never puts the account id or the PAT in an error or a log line.
//
// The types mirror the wire format. Timestamps are kept as the strings the API sent (RFC 3339
// with any offset) so that one bad value cannot fail a whole page; normalization parses them.
package livechat
