// Package batch defines the messages that travel between the functions: the sync request a
// scheduler or a person publishes, and the self-contained raw batch a fetch function publishes
// for process. It also encodes them for Pub/Sub (gzip-compressed JSON) and decodes the
// Pub/Sub push envelope a CloudEvent function receives.
package batch

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Source names a system the pipeline syncs.
type Source string

// The sources.
const (
	Tickets Source = "tickets"
	Chats   Source = "chats"
)

// ParseSource validates a source name.
func ParseSource(s string) (Source, error) {
	switch Source(s) {
	case Tickets, Chats:
		return Source(s), nil
	}
	return "", fmt.Errorf("unknown source %q (want tickets or chats)", s)
}

// Mode is how much a run reads.
type Mode string

// The modes: a full run reads the whole retention window and removes rows whose record no
// longer exists; an incremental run reads what changed since the cursor (minus a look-back).
const (
	Full        Mode = "full"
	Incremental Mode = "incremental"
)

// SyncRequest is the message on a sync-<source> topic.
type SyncRequest struct {
	Mode  Mode   `json:"mode"`
	Since string `json:"since,omitempty"`
	RunID string `json:"run_id,omitempty"`
	// Continue marks a follow-up invocation of a run whose fetch ran out of time budget; it
	// resumes from the checkpoint stored with the run.
	Continue bool `json:"continue,omitempty"`
}

// ParseSyncRequest decodes and validates a sync request. An empty body means an incremental run.
// Every problem is reported at once.
func ParseSyncRequest(data []byte) (SyncRequest, time.Time, error) {
	var r SyncRequest
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return r, time.Time{}, fmt.Errorf("sync request: not the JSON {\"mode\":\"incremental\"|\"full\",\"since\":RFC3339,\"run_id\":...}: %w", err)
		}
	}
	var errs []error
	switch r.Mode {
	case "":
		r.Mode = Incremental
	case Full, Incremental:
	default:
		errs = append(errs, fmt.Errorf("mode %q is not full or incremental", r.Mode))
	}
	var since time.Time
	if r.Since != "" {
		t, err := time.Parse(time.RFC3339Nano, r.Since)
		if err != nil {
			errs = append(errs, fmt.Errorf("since %q is not an RFC 3339 time", r.Since))
		}
		since = t
	}
	if r.RunID != "" && !validRunID(r.RunID) {
		errs = append(errs, fmt.Errorf("run_id %q: use 1-100 letters, digits, '-', '_' or '.'", r.RunID))
	}
	if err := errors.Join(errs...); err != nil {
		return r, since, fmt.Errorf("sync request: %w", err)
	}
	return r, since, nil
}

func validRunID(s string) bool {
	if len(s) == 0 || len(s) > 100 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// Batch is one raw batch: many API pages of one source's records as the API returned them,
// the reference data needed to normalize them, and the run's bookkeeping. Any batch can be
// processed or replayed alone.
type Batch struct {
	Source Source `json:"source"`
	RunID  string `json:"run_id"`
	Mode   Mode   `json:"mode"`
	// AllowDeletions confirms a full run's deletions past the mass-deletion guard.
	AllowDeletions bool      `json:"allow_deletions,omitempty"`
	Seq            int       `json:"seq"`
	Last           bool      `json:"last"`
	RunStarted     time.Time `json:"run_started"`
	// HighWater is the run's high-water mark: the cursor once every batch has landed. Set on
	// the last batch.
	HighWater time.Time `json:"high_water,omitzero"`
	// WindowFrom and WindowTo bound what the run read (informational; Sync_Log message).
	WindowFrom time.Time `json:"window_from,omitzero"`
	WindowTo   time.Time `json:"window_to,omitzero"`
	// APIRequests counts the source API requests spent producing this batch.
	APIRequests int `json:"api_requests"`
	// Records is the number of records in Payload, for logs and checks.
	Records int `json:"records"`
	// Error, when set, says the fetch failed: the batch carries no records, ends the run, and
	// process logs the run as failed in Sync_Log without moving the cursor.
	Error string `json:"error,omitempty"`
	// Payload is the source-specific content: records plus reference data
	// (hubspot.Payload for tickets, livechat.Payload for chats).
	Payload json.RawMessage `json:"payload"`
}

// AbandonedSeq is the sequence number of the failure batch a fetch publishes for an earlier run
// whose lease expired before all its batches landed (a batch dead-lettered, a crash): no real
// batch ever has it, so process never mistakes the marker for a redelivery.
const AbandonedSeq = 1 << 30

// Attribute names set on every published batch, so that a batch can be routed and inspected
// without decoding it.
const (
	AttrSource   = "source"
	AttrRunID    = "run_id"
	AttrSeq      = "seq"
	AttrLast     = "last"
	AttrEncoding = "encoding"
	EncodingGzip = "gzip+json"
)

// Encode serializes a batch as gzip-compressed JSON and returns the message data and attributes.
func Encode(b *Batch) ([]byte, map[string]string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, nil, err
	}
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, nil, fmt.Errorf("batch.Encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, nil, fmt.Errorf("batch.Encode: %w", err)
	}
	attrs := map[string]string{
		AttrSource:   string(b.Source),
		AttrRunID:    b.RunID,
		AttrSeq:      strconv.Itoa(b.Seq),
		AttrLast:     strconv.FormatBool(b.Last),
		AttrEncoding: EncodingGzip,
	}
	return buf.Bytes(), attrs, nil
}

// Decode parses a batch published by Encode (or plain JSON, for hand-made replays) and checks
// its bookkeeping. A batch that fails here can never succeed: it is poison.
func Decode(data []byte) (*Batch, error) {
	var r io.Reader = bytes.NewReader(data)
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("batch.Decode: gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	var b Batch
	if err := json.NewDecoder(r).Decode(&b); err != nil {
		return nil, fmt.Errorf("batch.Decode: %w", err)
	}
	var errs []string
	if _, err := ParseSource(string(b.Source)); err != nil {
		errs = append(errs, err.Error())
	}
	if !validRunID(b.RunID) {
		errs = append(errs, fmt.Sprintf("run_id %q is not valid", b.RunID))
	}
	if b.Mode != Full && b.Mode != Incremental {
		errs = append(errs, fmt.Sprintf("mode %q is not full or incremental", b.Mode))
	}
	if b.Seq < 0 {
		errs = append(errs, fmt.Sprintf("seq %d is negative", b.Seq))
	}
	if b.RunStarted.IsZero() {
		errs = append(errs, "run_started is missing")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("batch.Decode: %s", strings.Join(errs, "; "))
	}
	return &b, nil
}

// MessagePublishedData is the data of a google.cloud.pubsub.topic.v1.messagePublished
// CloudEvent (and of a Pub/Sub push body): Message.Data holds the decoded payload.
type MessagePublishedData struct {
	Message      PubSubMessage `json:"message"`
	Subscription string        `json:"subscription"`
}

// PubSubMessage is the Pub/Sub message inside MessagePublishedData.
type PubSubMessage struct {
	Data        []byte            `json:"data"`
	Attributes  map[string]string `json:"attributes"`
	MessageID   string            `json:"messageId"`
	PublishTime time.Time         `json:"publishTime"`
}
