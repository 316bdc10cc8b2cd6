package widgetapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"supportsync.dev/shared/config"
	"supportsync.dev/shared/widgets"
)

// Token limits.
const (
	// MaxTokenBytes is the longest token accepted.
	MaxTokenBytes = 2048
	// MaxTTL is the longest life of an embed token (Looker's maximum for embed URLs).
	MaxTTL = 30 * 24 * time.Hour
	// DefaultTTL is an embed token's life when none is asked for.
	DefaultTTL = 24 * time.Hour
)

// Claims are what an embed token grants: one widget, with some filters locked to values, until
// it expires. Filters not locked may be chosen by the viewer.
type Claims struct {
	Widget  string            `json:"w"`
	Filters map[string]string `json:"f,omitempty"`
	Issued  int64             `json:"iat"`
	Expires int64             `json:"exp"`
}

// Signer mints and verifies embed tokens: kid "." base64url(claims JSON) "." base64url(HMAC-SHA256
// over the first two parts, with key kid). The first key signs; every key verifies, so a key
// can be rotated by putting the new one first and dropping the old one once its tokens expired.
type Signer struct {
	keys []config.SigningKey
}

// NewSigner returns a Signer over keys (at least one).
func NewSigner(keys []config.SigningKey) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("widgetapi: no signing key")
	}
	return &Signer{keys: slices.Clone(keys)}, nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// Mint signs c with the first key.
func (s *Signer) Mint(c Claims) (string, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("widgetapi: token claims: %w", err)
	}
	k := s.keys[0]
	msg := k.ID + "." + base64.RawURLEncoding.EncodeToString(body)
	return msg + "." + base64.RawURLEncoding.EncodeToString(mac([]byte(k.Key), msg)), nil
}

// Token errors; their text is safe to return to the caller.
var (
	errTokenMalformed = errors.New("token is malformed")
	errTokenKey       = errors.New("token key is unknown (rotated out?)")
	errTokenSignature = errors.New("token signature does not match")
	errTokenExpired   = errors.New("token has expired")
)

// Verify checks a token's key, signature and expiry at now and returns its claims.
func (s *Signer) Verify(tok string, now time.Time) (Claims, error) {
	if len(tok) > MaxTokenBytes {
		return Claims{}, errTokenMalformed
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return Claims{}, errTokenMalformed
	}
	var key []byte
	for _, k := range s.keys {
		if hmac.Equal([]byte(k.ID), []byte(parts[0])) {
			key = []byte(k.Key)
		}
	}
	if key == nil {
		return Claims{}, errTokenKey
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return Claims{}, errTokenMalformed
	}
	if !hmac.Equal(sig, mac(key, parts[0]+"."+parts[1])) {
		return Claims{}, errTokenSignature
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Claims{}, errTokenMalformed
	}
	var c Claims
	if err := json.Unmarshal(body, &c); err != nil || c.Widget == "" || c.Expires == 0 {
		return Claims{}, errTokenMalformed
	}
	if now.Unix() >= c.Expires {
		return Claims{}, errTokenExpired
	}
	return c, nil
}

// NewClaims validates a mint request: the widget exists, every locked filter applies to it
// and has a valid value, and the TTL is within (0, MaxTTL].
func NewClaims(widget string, filters map[string]string, ttl time.Duration, now time.Time) (Claims, error) {
	if widget == AskScope { // a token for POST /api/v1/ask: no filters to lock
		if len(filters) > 0 || ttl < 0 || ttl > MaxTTL {
			return Claims{}, &widgets.BadRequestError{Reason: fmt.Sprintf("an %s token takes no filters and a ttl up to %s", AskScope, MaxTTL)}
		}
		if ttl == 0 {
			ttl = DefaultTTL
		}
		return Claims{Widget: AskScope, Issued: now.Unix(), Expires: now.Add(ttl).Unix()}, nil
	}
	w, ok := widgets.ByID(widget)
	if !ok {
		return Claims{}, &widgets.BadRequestError{Reason: fmt.Sprintf("unknown widget %q", clip(widget))}
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return Claims{}, &widgets.BadRequestError{Reason: fmt.Sprintf("ttl %s is not between 1s and %s", ttl, MaxTTL)}
	}
	f := map[string]string{}
	for k, v := range filters {
		if v != "" {
			f[k] = v
		}
	}
	// Validate the locked values as a request would give them. A locked from with a free to
	// is checked against itself: the range then ends on the viewer's today, which moves.
	q := map[string][]string{}
	for k, v := range f {
		q[k] = []string{v}
	}
	today := now.UTC().Format(time.DateOnly)
	if from, ok := f[widgets.FilterFrom]; ok && f[widgets.FilterTo] == "" {
		today = from
	}
	if _, err := widgets.ParseFilters(w, q, today); err != nil {
		return Claims{}, err
	}
	if len(f) == 0 {
		f = nil
	}
	return Claims{Widget: w.ID, Filters: f, Issued: now.Unix(), Expires: now.Add(ttl).Unix()}, nil
}

// lockedKeys lists a token's locked filter names, sorted.
func (c Claims) lockedKeys() []string { return slices.Sorted(maps.Keys(c.Filters)) }

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
