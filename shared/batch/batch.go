// Package batch defines the messages that travel between the functions: the sync request a
// scheduler or a person publishes, and what a fetch function publishes for process on the
// raw-batches topic — a self-contained raw batch, or a failure report (the message's kind
// attribute tells them apart). It encodes them for Pub/Sub (gzip-compressed JSON), decodes and
// checks them, and defines the messagePublished event data a CloudEvent function receives
// (shared/app decodes it).
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
	// AllowDeletions confirms a full run's deletions past the sink's mass-deletion guard. It
	// is refused on an incremental request (which deletes nothing that left the source).
	AllowDeletions bool `json:"allow_deletions,omitempty"`
	// Continue marks a follow-up invocation of a run whose fetch ran out of time budget; it
	// resumes from the checkpoint stored with the run.
	Continue bool `json:"continue,omitempty"`
	// Turn is the token of the fetch turn a continuation carries: only the current turn may
	// fetch, so a late or redelivered continuation is a no-op.
	Turn string `json:"turn,omitempty"`
}

// ParseSyncRequest decodes and validates a sync request. An empty body means an incremental run.
// Every problem is reported at once.
func ParseSyncRequest(data []byte) (SyncRequest, time.Time, error) {
	var r SyncRequest
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return r, time.Time{}, fmt.Errorf("sync request: not the JSON {\"mode\":\"incremental\"|\"full\",\"since\":RFC3339,\"run_id\":...,\"allow_deletions\":bool}: %w", err)
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
	if r.Continue && (r.RunID == "" || r.Turn == "") {
		errs = append(errs, errors.New("a continuation needs run_id and turn"))
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
	// Payload is the source-specific content: records plus reference data
	// (hubspot.Payload for tickets, livechat.Payload for chats).
	Payload json.RawMessage `json:"payload"`
}

// Attribute names set on every published batch, so that a batch can be routed and inspected
// without decoding it.
const (
	AttrSource   = "source"
	AttrRunID    = "run_id"
	AttrSeq      = "seq"
	AttrLast     = "last"
	AttrEncoding = "encoding"
	EncodingGzip = "gzip+json"
	// AttrKind says what a raw-batches message holds: KindBatch (also when absent, as on a
	// hand-made replay) or KindFailure.
	AttrKind    = "kind"
	KindBatch   = "batch"
	KindFailure = "failure"
)

// MaxDecodedBytes bounds what one message may decompress to: an encoded batch is at most
// about 9 MB of gzip, and ticket JSON compresses around 8:1, so 256 MiB leaves room while a
// gzip bomb or a corrupt message is refused before it exhausts the function's memory.
const MaxDecodedBytes = 256 << 20

// ErrTooLarge is returned by Decode and DecodeFailure for a message that decompresses to more
// than MaxDecodedBytes.
var ErrTooLarge = errors.New("message decompresses to more than the bound")

// Failure reports that a run failed in fetch (or was abandoned): process logs it in Sync_Log
// and marks the run failed, the cursor holds. It travels on the raw-batches topic with kind
// failure; handling it twice changes nothing.
type Failure struct {
	Source     Source    `json:"source"`
	RunID      string    `json:"run_id"`
	Mode       Mode      `json:"mode"`
	RunStarted time.Time `json:"run_started"`
	// Reason is the Sync_Log message.
	Reason string `json:"reason"`
	// Abandoned marks a run whose lease expired before all its batches landed.
	Abandoned bool `json:"abandoned,omitempty"`
}

// EncodeFailure serializes a failure report as JSON with its attributes.
func EncodeFailure(f *Failure) ([]byte, map[string]string, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return nil, nil, fmt.Errorf("batch.EncodeFailure: %w", err)
	}
	return data, map[string]string{AttrKind: KindFailure, AttrSource: string(f.Source), AttrRunID: f.RunID}, nil
}

// DecodeFailure parses a failure report and checks it. A report that fails here is poison.
func DecodeFailure(data []byte) (*Failure, error) {
	var f Failure
	if err := decodeJSON(data, &f, MaxDecodedBytes); err != nil {
		return nil, fmt.Errorf("batch.DecodeFailure: %w", err)
	}
	var errs []string
	if _, err := ParseSource(string(f.Source)); err != nil {
		errs = append(errs, err.Error())
	}
	if !validRunID(f.RunID) {
		errs = append(errs, fmt.Sprintf("run_id %q is not valid", f.RunID))
	}
	if f.Reason == "" {
		errs = append(errs, "reason is missing")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("batch.DecodeFailure: %s", strings.Join(errs, "; "))
	}
	return &f, nil
}

// Kind returns a raw-batches message's kind from its attributes (KindBatch when unset).
func Kind(attrs map[string]string) string {
	if k := attrs[AttrKind]; k != "" {
		return k
	}
	return KindBatch
}

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
		AttrKind:     KindBatch,
	}
	return buf.Bytes(), attrs, nil
}

// decodeJSON decodes gzip-compressed or plain JSON into v, refusing more than
// MaxDecodedBytes of JSON.
func decodeJSON(data []byte, v any, max int64) error {
	var r io.Reader = bytes.NewReader(data)
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	if max <= 0 {
		max = MaxDecodedBytes
	}
	lr := &io.LimitedReader{R: r, N: max + 1}
	err := json.NewDecoder(lr).Decode(v)
	if lr.N <= 0 {
		return fmt.Errorf("%w of %d bytes", ErrTooLarge, max)
	}
	return err
}

// Decode parses a batch published by Encode (or plain JSON, for hand-made replays) and checks
// its bookkeeping, refusing one that decompresses to more than MaxDecodedBytes. A batch that
// fails here can never succeed: it is poison.
func Decode(data []byte) (*Batch, error) { return DecodeMax(data, MaxDecodedBytes) }

// DecodeMax is Decode with another bound on the decompressed size (ErrTooLarge beyond it).
func DecodeMax(data []byte, max int64) (*Batch, error) {
	var b Batch
	if err := decodeJSON(data, &b, max); err != nil {
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
