// Package hubspot is a client for the parts of the HubSpot CRM v3 API that supportsync reads:
// tickets (search and list), owners (active and archived) and ticket pipelines. It paces
// itself under HubSpot's limits and retries what is worth retrying.
package hubspot
