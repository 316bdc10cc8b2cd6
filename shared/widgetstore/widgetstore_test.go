package widgetstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"supportsync.dev/shared/emulator/emulatortest"
	"supportsync.dev/shared/widgetstore"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func blob(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func versions(t *testing.T, fs *firestore.Client) []string {
	t.Helper()
	refs, err := fs.Collection(widgetstore.Collection).DocumentRefs(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range refs {
		if r.ID[0] == 'v' {
			out = append(out, r.ID)
		}
	}
	return out
}

// TestChunksChecksumAndTamper stores a dataset larger than two chunks, reads it back whole,
// and detects a chunk that changed under the reader.
func TestChunksChecksumAndTamper(t *testing.T) {
	ctx := context.Background()
	fs := emulatortest.FirestoreClient(t)
	s := widgetstore.New(fs)
	if _, err := s.Current(ctx); !errors.Is(err, widgetstore.ErrNoDataset) {
		t.Fatalf("empty store: %v", err)
	}
	data := blob(t, 2*widgetstore.ChunkBytes+12345)
	now := time.Now().UTC()
	p, err := s.Publish(ctx, data, widgetstore.Meta{AsOf: now.Add(-time.Minute), ReadAt: now, Tickets: 3, Chats: 4})
	if err != nil {
		t.Fatal(err)
	}
	if p.Chunks != 3 || p.Bytes != len(data) || p.Tickets != 3 || p.Chats != 4 || !p.AsOf.Equal(now.Add(-time.Minute)) {
		t.Errorf("pointer %+v", p)
	}
	got, err := s.Read(ctx, p)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v (equal %v)", err, bytes.Equal(got, data))
	}
	ref := fs.Collection(widgetstore.Collection).Doc(p.Version).Collection("chunks").Doc("0001")
	if _, err := ref.Set(ctx, map[string]any{"data": []byte("other")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, p); !errors.Is(err, widgetstore.ErrChanged) {
		t.Errorf("tampered chunk: %v, want ErrChanged", err)
	}
	if _, err := ref.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, p); !errors.Is(err, widgetstore.ErrChanged) {
		t.Errorf("missing chunk: %v, want ErrChanged", err)
	}
}

// TestOlderReadIsRefusedAndSameBytesKeepTheVersion: a publish of an older read of the sheet
// never replaces a newer one (and leaves no version behind); the same bytes read later only
// move as_of and read_at.
func TestOlderReadIsRefusedAndSameBytesKeepTheVersion(t *testing.T) {
	ctx := context.Background()
	fs := emulatortest.FirestoreClient(t)
	s := widgetstore.New(fs)
	t0 := time.Now().UTC()
	a := blob(t, 1000)
	p1, err := s.Publish(ctx, a, widgetstore.Meta{AsOf: t0, ReadAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(ctx, blob(t, 1000), widgetstore.Meta{AsOf: t0, ReadAt: t0.Add(-time.Second)}); !errors.Is(err, widgetstore.ErrSuperseded) {
		t.Fatalf("older read: %v, want ErrSuperseded", err)
	}
	if v := versions(t, fs); len(v) != 1 || v[0] != p1.Version {
		t.Errorf("versions after a refused publish: %v", v)
	}
	p2, err := s.Publish(ctx, a, widgetstore.Meta{AsOf: t0.Add(time.Minute), ReadAt: t0.Add(2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if p2.Version != p1.Version || !p2.AsOf.Equal(t0.Add(time.Minute)) {
		t.Errorf("same bytes: version %s -> %s, as_of %v", p1.Version, p2.Version, p2.AsOf)
	}
	// as_of never goes back, even when a later read carries an older run's finish.
	p3, err := s.Publish(ctx, blob(t, 10), widgetstore.Meta{AsOf: t0, ReadAt: t0.Add(3 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if !p3.AsOf.Equal(t0.Add(time.Minute).Truncate(time.Microsecond)) || p3.Previous != p1.Version { // Firestore keeps microseconds
		t.Errorf("as_of %v (want %v), previous %s", p3.AsOf, t0.Add(time.Minute), p3.Previous)
	}
}

// TestCleanupKeepsCurrentAndPrevious publishes four versions: cleanup leaves the current and
// the previous one, and nothing younger than KeepFor.
func TestCleanupKeepsCurrentAndPrevious(t *testing.T) {
	ctx := context.Background()
	fs := emulatortest.FirestoreClient(t)
	s := widgetstore.New(fs)
	clock := time.Now().UTC()
	s.Now = func() time.Time { return clock }
	var last widgetstore.Pointer
	for i := range 4 {
		clock = clock.Add(time.Second)
		p, err := s.Publish(ctx, blob(t, widgetstore.ChunkBytes+i), widgetstore.Meta{AsOf: clock, ReadAt: clock})
		if err != nil {
			t.Fatal(err)
		}
		last = p
	}
	if n, err := s.Cleanup(ctx); err != nil || n != 0 {
		t.Fatalf("cleanup of young versions: %d %v", n, err)
	}
	clock = clock.Add(10 * time.Minute)
	n, err := s.Cleanup(ctx)
	if err != nil || n != 2 {
		t.Fatalf("cleanup: %d %v, want 2", n, err)
	}
	v := versions(t, fs)
	if len(v) != 2 || !(fmt.Sprint(v) == fmt.Sprint([]string{last.Previous, last.Version})) {
		t.Errorf("left %v, want previous %s and current %s", v, last.Previous, last.Version)
	}
	if _, err := s.Read(ctx, last); err != nil {
		t.Errorf("current unreadable after cleanup: %v", err)
	}
}

// TestLease: one holder at a time, an expired lease is taken over, and a holder that lost the
// lease cannot release the new holder's.
func TestLease(t *testing.T) {
	ctx := context.Background()
	s := widgetstore.New(emulatortest.FirestoreClient(t))
	clock := time.Now().UTC()
	s.Now = func() time.Time { return clock }
	if err := s.Acquire(ctx, "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Acquire(ctx, "a", time.Minute); err != nil {
		t.Errorf("re-acquire by the holder: %v", err)
	}
	if err := s.Acquire(ctx, "b", time.Minute); !errors.Is(err, widgetstore.ErrBusy) {
		t.Fatalf("second holder: %v, want ErrBusy", err)
	}
	clock = clock.Add(2 * time.Minute)
	if err := s.Acquire(ctx, "b", time.Minute); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if err := s.Release(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Acquire(ctx, "c", time.Minute); !errors.Is(err, widgetstore.ErrBusy) {
		t.Errorf("a released b's lease: %v", err)
	}
	if err := s.Release(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Acquire(ctx, "c", time.Minute); err != nil {
		t.Errorf("after release: %v", err)
	}
}
