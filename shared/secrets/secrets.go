// Package secrets handles credentials: a Secret is a value that never prints itself, and a
// Resolver turns "a plain value (laptops, tests) or the name of a Secret Manager version (the
// cloud)" into the value, reading each Secret Manager version once per instance.
//
// Values are never logged and never part of an error message.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Redacted is what a Secret prints as.
const Redacted = "[REDACTED]"

// Secret is a secret value, such as an API token read from the environment. It prints (fmt
// with any verb, slog, JSON and other text encodings) as Redacted, or "" when empty;
// string(s) is the value.
type Secret string

// String returns Redacted, or "" for the empty Secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x, %d, …) print String().
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	fmt.Fprint(f, s.String())
}

// GoString is String, so %#v does not show the value either.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps the value out of structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps the value out of JSON and other text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

var nameRE = regexp.MustCompile(`^projects/[a-z0-9.:-]+/secrets/[A-Za-z0-9_-]{1,255}/versions/(latest|[1-9][0-9]*)$`)

// ErrBadName says a string is not a Secret Manager version name. The string itself is not
// shown: it may be a token pasted into the wrong place.
var ErrBadName = errors.New("not a Secret Manager version name (projects/PROJECT/secrets/SECRET/versions/VERSION|latest); value not shown")

// ValidName returns ErrBadName unless name is a Secret Manager version name,
// projects/P/secrets/S/versions/V with V a version number or "latest".
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return ErrBadName
	}
	return nil
}

// ErrUnset is returned when resolving with neither a value nor a version name.
var ErrUnset = errors.New("secrets: no value or secret version given")

// ErrBoth is returned when resolving with both a value and a version name.
var ErrBoth = errors.New("secrets: both a value and a secret version given; set only one")

// Resolver resolves secrets, reading each Secret Manager version at most once successfully per
// Resolver (the value is then cached; a failed read is retried on the next call). The
// Secret Manager client is created on first use. It is safe for concurrent use; the zero
// value is ready to use with default client options.
type Resolver struct {
	opts []option.ClientOption

	mu      sync.Mutex
	client  *secretmanager.Client
	entries map[string]*entry
}

// entry is one version's cache slot; sem (capacity 1) serializes its reads so that
// concurrent callers wait for one read instead of each making their own, while still
// honouring their contexts.
type entry struct {
	sem   chan struct{}
	done  bool
	value string
}

// NewResolver returns a Resolver whose Secret Manager client is built with opts (for tests:
// option.WithEndpoint, option.WithoutAuthentication and a gRPC dial option).
func NewResolver(opts ...option.ClientOption) *Resolver {
	return &Resolver{opts: opts}
}

// Resolve returns value when name is "", else the payload of the Secret Manager version name
// (see Access). This is how a configuration's X / X_SECRET pair of variables becomes the one
// credential: exactly one of them must be set.
func (r *Resolver) Resolve(ctx context.Context, value Secret, name string) (string, error) {
	switch {
	case value != "" && name != "":
		return "", ErrBoth
	case name != "":
		return r.Access(ctx, name)
	case value != "":
		return string(value), nil
	}
	return "", ErrUnset
}

// Access returns the payload of a Secret Manager version, read once and cached, with
// surrounding white space trimmed (a token stored with a trailing newline is still the token).
func (r *Resolver) Access(ctx context.Context, name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", fmt.Errorf("secrets: %w", err)
	}
	e := r.entry(name)
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("secretmanager.AccessSecretVersion %s: %w", name, ctx.Err())
	}
	defer func() { <-e.sem }()
	if e.done {
		return e.value, nil
	}
	c, err := r.smClient(ctx)
	if err != nil {
		return "", err
	}
	resp, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("secretmanager.AccessSecretVersion %s: %w", name, ctxErr)
		}
		if _, ok := ctx.Deadline(); ok && status.Code(err) == codes.DeadlineExceeded {
			// The server can give up on the propagated deadline just before the context does.
			return "", fmt.Errorf("secretmanager.AccessSecretVersion %s: %w (%w)", name, context.DeadlineExceeded, err)
		}
		return "", fmt.Errorf("secretmanager.AccessSecretVersion %s: %s%w", name, hint(err), err)
	}
	data := resp.GetPayload().GetData()
	if p := resp.GetPayload(); p != nil && p.DataCrc32C != nil {
		if int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))) != p.GetDataCrc32C() {
			return "", fmt.Errorf("secretmanager.AccessSecretVersion %s: payload checksum mismatch (corrupted in transit)", name)
		}
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return "", fmt.Errorf("secretmanager.AccessSecretVersion %s: the secret version is empty", name)
	}
	e.value, e.done = v, true
	return v, nil
}

// hint explains the common failures in words, before the gRPC error itself.
func hint(err error) string {
	switch status.Code(err) {
	case codes.NotFound:
		return "the secret or version does not exist (NotFound): "
	case codes.PermissionDenied:
		return "permission denied: grant the function's service account roles/secretmanager.secretAccessor on the secret (PermissionDenied): "
	case codes.FailedPrecondition:
		return "the version is disabled or destroyed (FailedPrecondition): "
	case codes.Unauthenticated:
		return "no valid Google credentials (Unauthenticated): "
	}
	return ""
}

func (r *Resolver) entry(name string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries == nil {
		r.entries = map[string]*entry{}
	}
	e, ok := r.entries[name]
	if !ok {
		e = &entry{sem: make(chan struct{}, 1)}
		r.entries[name] = e
	}
	return e
}

func (r *Resolver) smClient(ctx context.Context) (*secretmanager.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return r.client, nil
	}
	// The client outlives this call: keep the context's values, not its cancellation.
	c, err := secretmanager.NewClient(context.WithoutCancel(ctx), r.opts...)
	if err != nil {
		return nil, fmt.Errorf("secretmanager.NewClient: %w", err)
	}
	r.client = c
	return c, nil
}

// Close closes the Secret Manager client, if one was created. Cached values stay usable.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client == nil {
		return nil
	}
	err := r.client.Close()
	r.client = nil
	return err
}
