// Package widgetstore keeps the published widget dataset in Firestore, under the widgets
// collection, so that a reader never sees half a version:
//
//	widgets/current             the pointer: which version serves, its as_of, size and checksum
//	widgets/{version}           one version's header (created, chunk count)
//	widgets/{version}/chunks/N  its bytes, in chunks under the 1 MiB document limit
//	widgets/lease               the publish lease (one publish at a time)
//
// A publish writes the header and every chunk first, then flips the pointer in a transaction
// that refuses to go back to an older read of the sheet; a publish that fails before the flip
// leaves the previous version serving. Versions other than the current and the previous one
// are deleted once they are a few minutes old (a reader that read the pointer just before a
// flip still finds its chunks).
package widgetstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"supportsync.dev/shared/widgets"
)

// Collection is the Firestore collection of the widget dataset.
const Collection = "widgets"

// ChunkBytes is the most bytes in one chunk document (Firestore's limit is 1 MiB per
// document, names and field names included).
const ChunkBytes = 900_000

// Errors.
var (
	// ErrNoDataset: nothing has been published yet.
	ErrNoDataset = errors.New("widgetstore: no dataset published yet")
	// ErrSuperseded: the pointer already names a dataset read from the sheet later than this
	// one; the flip was refused.
	ErrSuperseded = errors.New("widgetstore: a newer dataset is already published")
	// ErrBusy: another publish holds the lease.
	ErrBusy = errors.New("widgetstore: another publish holds the lease")
	// ErrChanged: the version's chunks are gone or do not match its checksum (it was cleaned
	// up while being read); read the pointer again.
	ErrChanged = errors.New("widgetstore: the dataset changed while it was read")
)

// Pointer is the document widgets/current.
type Pointer struct {
	// Version names the serving version (a document id under widgets).
	Version string `firestore:"version"`
	// AsOf is when the newest run in the dataset finished.
	AsOf time.Time `firestore:"as_of"`
	// ReadAt is when publish began reading the sheet for this dataset: every run that
	// completed before it is reflected.
	ReadAt time.Time `firestore:"read_at"`
	// Chunks, Bytes and SHA256 describe the version's bytes.
	Chunks int    `firestore:"chunks"`
	Bytes  int    `firestore:"bytes"`
	SHA256 string `firestore:"sha256"`
	// Tickets and Chats count the rows.
	Tickets int `firestore:"tickets"`
	Chats   int `firestore:"chats"`
	// Published is when the pointer was last written; Previous the version it replaced.
	Published time.Time `firestore:"published"`
	Previous  string    `firestore:"previous,omitempty"`
}

type header struct {
	Created time.Time `firestore:"created"`
	Chunks  int       `firestore:"chunks"`
	Bytes   int       `firestore:"bytes"`
	SHA256  string    `firestore:"sha256"`
}

type chunk struct {
	Data []byte `firestore:"data"`
}

type lease struct {
	Holder  string    `firestore:"holder"`
	Expires time.Time `firestore:"expires"`
}

// Store reads and writes the dataset.
type Store struct {
	client *firestore.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// KeepFor is how long an unreferenced version survives (default 5 minutes).
	KeepFor time.Duration
}

// New returns a Store over client.
func New(client *firestore.Client) *Store { return &Store{client: client} }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Store) col() *firestore.CollectionRef { return s.client.Collection(Collection) }

func (s *Store) pointerRef() *firestore.DocumentRef { return s.col().Doc("current") }

// Checksum returns the hex SHA-256 of b.
func Checksum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Current reads the pointer; ErrNoDataset when nothing is published. It is one document read,
// cheap enough for a version check every few seconds.
func (s *Store) Current(ctx context.Context) (Pointer, error) {
	snap, err := s.pointerRef().Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Pointer{}, ErrNoDataset
	}
	if err != nil {
		return Pointer{}, fmt.Errorf("widgetstore.Current: %w", err)
	}
	var p Pointer
	if err := snap.DataTo(&p); err != nil {
		return Pointer{}, fmt.Errorf("widgetstore.Current: %w", err)
	}
	return p, nil
}

// Read returns the bytes of the version p names, checked against its checksum. ErrChanged
// means the version went away while being read: read the pointer again.
func (s *Store) Read(ctx context.Context, p Pointer) ([]byte, error) {
	if p.Chunks <= 0 {
		return nil, fmt.Errorf("widgetstore.Read %s: %w", p.Version, ErrChanged)
	}
	refs := make([]*firestore.DocumentRef, p.Chunks)
	for i := range refs {
		refs[i] = s.col().Doc(p.Version).Collection("chunks").Doc(fmt.Sprintf("%04d", i))
	}
	snaps, err := s.client.GetAll(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("widgetstore.Read %s: %w", p.Version, err)
	}
	out := make([]byte, 0, p.Bytes)
	for _, snap := range snaps {
		if !snap.Exists() {
			return nil, fmt.Errorf("widgetstore.Read %s: chunk %s missing: %w", p.Version, snap.Ref.ID, ErrChanged)
		}
		var c chunk
		if err := snap.DataTo(&c); err != nil {
			return nil, fmt.Errorf("widgetstore.Read %s: %w", p.Version, err)
		}
		out = append(out, c.Data...)
	}
	if Checksum(out) != p.SHA256 {
		return nil, fmt.Errorf("widgetstore.Read %s: checksum mismatch: %w", p.Version, ErrChanged)
	}
	return out, nil
}

// Meta describes a dataset to publish.
type Meta struct {
	AsOf, ReadAt   time.Time
	Tickets, Chats int
}

// Publish stores data as a new version and makes it current, unless the current dataset was
// read from the sheet later (ErrSuperseded; the new version is deleted again). When data is
// byte-for-byte the current version's, no chunk is written: only the pointer's as_of and
// read_at move. It returns the pointer now current.
func (s *Store) Publish(ctx context.Context, data []byte, m Meta) (Pointer, error) {
	sum := Checksum(data)
	cur, err := s.Current(ctx)
	switch {
	case errors.Is(err, ErrNoDataset):
	case err != nil:
		return Pointer{}, err
	case !m.ReadAt.After(cur.ReadAt):
		return cur, ErrSuperseded
	}
	now := s.now()
	p := Pointer{
		AsOf: m.AsOf.UTC(), ReadAt: m.ReadAt.UTC(), Bytes: len(data), SHA256: sum,
		Chunks: (len(data) + ChunkBytes - 1) / ChunkBytes, Tickets: m.Tickets, Chats: m.Chats, Published: now,
	}
	if cur.SHA256 == sum && cur.Version != "" {
		p.Version, p.Chunks, p.Previous = cur.Version, cur.Chunks, cur.Previous
	} else {
		p.Version = fmt.Sprintf("v%s%03d-%s", now.Format("20060102T150405"), now.Nanosecond()/1e6, sum[:12])
		if err := s.writeVersion(ctx, p.Version, data, header{Created: now, Chunks: p.Chunks, Bytes: p.Bytes, SHA256: sum}); err != nil {
			return Pointer{}, err
		}
	}
	err = s.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(s.pointerRef())
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
		if snap != nil && snap.Exists() {
			var c Pointer
			if err := snap.DataTo(&c); err != nil {
				return err
			}
			if !p.ReadAt.After(c.ReadAt) {
				return ErrSuperseded
			}
			if c.Version != p.Version {
				p.Previous = c.Version
			}
			if p.AsOf.Before(c.AsOf) {
				p.AsOf = c.AsOf
			}
		}
		return tx.Set(s.pointerRef(), p)
	})
	if err != nil {
		if errors.Is(err, ErrSuperseded) && p.Version != cur.Version {
			_ = s.deleteVersion(ctx, p.Version)
		}
		if errors.Is(err, ErrSuperseded) {
			return p, err
		}
		return Pointer{}, fmt.Errorf("widgetstore.Publish: flip pointer: %w", err)
	}
	return p, nil
}

// writeVersion writes a version's chunks, then its header.
func (s *Store) writeVersion(ctx context.Context, version string, data []byte, h header) error {
	vref := s.col().Doc(version)
	for i := 0; i < h.Chunks; i++ {
		end := min((i+1)*ChunkBytes, len(data))
		ref := vref.Collection("chunks").Doc(fmt.Sprintf("%04d", i))
		if _, err := ref.Set(ctx, chunk{Data: data[i*ChunkBytes : end]}); err != nil {
			return fmt.Errorf("widgetstore.Publish: chunk %d of %s: %w", i, version, err)
		}
	}
	if _, err := vref.Set(ctx, h); err != nil {
		return fmt.Errorf("widgetstore.Publish: header of %s: %w", version, err)
	}
	return nil
}

func (s *Store) deleteVersion(ctx context.Context, version string) error {
	vref := s.col().Doc(version)
	refs, err := vref.Collection("chunks").DocumentRefs(ctx).GetAll()
	if err != nil {
		return fmt.Errorf("widgetstore: list chunks of %s: %w", version, err)
	}
	for _, r := range refs {
		if _, err := r.Delete(ctx); err != nil {
			return fmt.Errorf("widgetstore: delete %s: %w", r.Path, err)
		}
	}
	if _, err := vref.Delete(ctx); err != nil {
		return fmt.Errorf("widgetstore: delete %s: %w", version, err)
	}
	return nil
}

// Cleanup deletes every version other than the current and the previous one that is older
// than KeepFor (so a publish still writing its chunks is left alone). It returns how many
// versions it deleted.
func (s *Store) Cleanup(ctx context.Context) (int, error) {
	cur, err := s.Current(ctx)
	if err != nil && !errors.Is(err, ErrNoDataset) {
		return 0, err
	}
	keep := s.KeepFor
	if keep <= 0 {
		keep = 5 * time.Minute
	}
	refs, err := s.col().DocumentRefs(ctx).GetAll()
	if err != nil {
		return 0, fmt.Errorf("widgetstore.Cleanup: %w", err)
	}
	n := 0
	for _, r := range refs {
		id := r.ID
		if !strings.HasPrefix(id, "v") || id == cur.Version || id == cur.Previous {
			continue
		}
		snap, err := r.Get(ctx)
		if err == nil && snap.Exists() {
			var h header
			if err := snap.DataTo(&h); err == nil && s.now().Sub(h.Created) < keep {
				continue
			}
		} else if err != nil && status.Code(err) != codes.NotFound {
			return n, fmt.Errorf("widgetstore.Cleanup: %w", err)
		}
		// A version document without header (chunks only, its writer died) is old enough
		// to go once it is listed here again: chunks are written before the header, so
		// check the chunks' age instead.
		if snap == nil || !snap.Exists() {
			young, err := s.youngChunks(ctx, r, keep)
			if err != nil {
				return n, err
			}
			if young {
				continue
			}
		}
		if err := s.deleteVersion(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Store) youngChunks(ctx context.Context, vref *firestore.DocumentRef, keep time.Duration) (bool, error) {
	snaps, err := vref.Collection("chunks").Limit(1).Documents(ctx).GetAll()
	if err != nil {
		return false, fmt.Errorf("widgetstore.Cleanup: %w", err)
	}
	for _, snap := range snaps {
		if s.now().Sub(snap.UpdateTime) < keep {
			return true, nil
		}
	}
	return false, nil
}

// Acquire takes the publish lease for holder until ttl from now; ErrBusy when another holder
// has it and it has not expired.
func (s *Store) Acquire(ctx context.Context, holder string, ttl time.Duration) error {
	ref := s.col().Doc("lease")
	err := s.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
		if snap != nil && snap.Exists() {
			var l lease
			if err := snap.DataTo(&l); err != nil {
				return err
			}
			if l.Holder != holder && s.now().Before(l.Expires) {
				return ErrBusy
			}
		}
		return tx.Set(ref, lease{Holder: holder, Expires: s.now().Add(ttl)})
	})
	if errors.Is(err, ErrBusy) {
		return ErrBusy
	}
	if err != nil {
		return fmt.Errorf("widgetstore.Acquire: %w", err)
	}
	return nil
}

// Release gives the lease back if holder still has it.
func (s *Store) Release(ctx context.Context, holder string) error {
	ref := s.col().Doc("lease")
	err := s.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		var l lease
		if err := snap.DataTo(&l); err != nil {
			return err
		}
		if l.Holder != holder {
			return nil
		}
		return tx.Delete(ref)
	})
	if err != nil {
		return fmt.Errorf("widgetstore.Release: %w", err)
	}
	return nil
}

// Load reads the current dataset and decodes it, reading the pointer again when the version
// it named went away while being read.
func (s *Store) Load(ctx context.Context) (*widgets.Dataset, Pointer, error) {
	var err error
	for range 3 {
		var p Pointer
		if p, err = s.Current(ctx); err != nil {
			return nil, Pointer{}, err
		}
		var b []byte
		if b, err = s.Read(ctx, p); errors.Is(err, ErrChanged) {
			continue
		} else if err != nil {
			return nil, Pointer{}, err
		}
		return Decode(b, p)
	}
	return nil, Pointer{}, err
}

// Decode turns a version's bytes into a dataset stamped with the pointer's version and as_of.
func Decode(b []byte, p Pointer) (*widgets.Dataset, Pointer, error) {
	d, err := widgets.Decode(b)
	if err != nil {
		return nil, Pointer{}, err
	}
	d.AsOf = p.AsOf
	ds, err := widgets.Load(d, p.Version)
	if err != nil {
		return nil, Pointer{}, err
	}
	return ds, p, nil
}
