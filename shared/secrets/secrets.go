// Package secrets holds credentials safely: a Ref is either a plain value (from the
// environment, for laptops and tests) or the name of a Secret Manager secret version (in the
// cloud), and it never prints its value. A Resolver turns a Ref into the value, reading each
// Secret Manager version once per instance.
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

// Redacted is what a Ref's plain value prints as.
const Redacted = "[REDACTED]"

// Ref refers to a secret: a plain value or a Secret Manager version name. The zero Ref is
// unset. A Ref prints (fmt, slog, JSON) as its version name or as Redacted, never its value.
type Ref struct {
	value string
	name  string
}

// Plain returns a Ref holding the value itself.
func Plain(value string) Ref { return Ref{value: value} }

// Version returns a Ref to a Secret Manager version, after checking the name's form
// (projects/P/secrets/S/versions/V, V a number or "latest").
func Version(name string) (Ref, error) {
	if err := ValidName(name); err != nil {
		return Ref{}, err
	}
	return Ref{name: name}, nil
}

var nameRE = regexp.MustCompile(`^projects/[a-z0-9.:-]+/secrets/[A-Za-z0-9_-]{1,255}/versions/(latest|[1-9][0-9]*)$`)

// ValidName reports whether name is a Secret Manager version name,
// projects/P/secrets/S/versions/V with V a version number or "latest".
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%q is not a Secret Manager version name (projects/PROJECT/secrets/SECRET/versions/VERSION|latest)", name)
	}
	return nil
}

// IsZero reports whether the Ref is unset.
func (r Ref) IsZero() bool { return r.value == "" && r.name == "" }

// Name returns the Secret Manager version name, "" for a plain value.
func (r Ref) Name() string { return r.name }

// String describes the Ref without its value: the version name, Redacted for a plain value,
// or "" when unset.
func (r Ref) String() string {
	switch {
	case r.name != "":
		return r.name
	case r.value != "":
		return Redacted
	}
	return ""
}

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x, …) print String().
func (r Ref) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", r.String())
		return
	}
	fmt.Fprint(f, r.String())
}

// GoString is String, so %#v does not show the value either.
func (r Ref) GoString() string { return r.String() }

// LogValue keeps the value out of structured logs.
func (r Ref) LogValue() slog.Value { return slog.StringValue(r.String()) }

// MarshalText keeps the value out of JSON and other encodings.
func (r Ref) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// ErrUnset is returned when resolving a Ref that holds nothing.
var ErrUnset = errors.New("secrets: no value or secret version given")

// Resolver resolves Refs, reading each Secret Manager version at most once successfully per
// Resolver (the value is then cached; a failed read is retried on the next call). The
// Secret Manager client is created on first use. It is safe for concurrent use; the zero
// value is ready to use with default client options.
type Resolver struct {
	opts []option.ClientOption

	mu      sync.Mutex
	client  *secretmanager.Client
	entries map[string]*entry
}

type entry struct {
	mu    sync.Mutex
	done  bool
	value string
}

// NewResolver returns a Resolver whose Secret Manager client is built with opts (for tests:
// option.WithEndpoint, option.WithoutAuthentication and a gRPC dial option).
func NewResolver(opts ...option.ClientOption) *Resolver {
	return &Resolver{opts: opts}
}

// Resolve returns the Ref's value: the plain value, or the version's payload read from
// Secret Manager (surrounding white space trimmed: a token stored with a trailing newline is
// still the token).
func (r *Resolver) Resolve(ctx context.Context, ref Ref) (string, error) {
	switch {
	case ref.name != "":
		return r.Access(ctx, ref.name)
	case ref.value != "":
		return ref.value, nil
	}
	return "", ErrUnset
}

// Access returns the payload of a Secret Manager version, read once and cached.
func (r *Resolver) Access(ctx context.Context, name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", fmt.Errorf("secrets: %w", err)
	}
	e := r.entry(name)
	e.mu.Lock()
	defer e.mu.Unlock()
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
		e = &entry{}
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
