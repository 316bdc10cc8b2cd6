package askbudget_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"supportsync.dev/shared/askbudget"
	"supportsync.dev/shared/emulator/emulatortest"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func TestBudgetAcrossInstances(t *testing.T) {
	fs := emulatortest.FirestoreClient(t)
	ctx := context.Background()
	var now atomic.Pointer[time.Time]
	t0 := time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)
	now.Store(&t0)
	clock := func() time.Time { return *now.Load() }
	lim := askbudget.Limits{Requests: 10, Tokens: 1000}
	// Two instances share the counters: 16 questions, 4 at a time, get exactly 10 requests.
	a, b := askbudget.New(fs, lim, clock), askbudget.New(fs, lim, clock)
	var ok, spent atomic.Int32
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bud := a
			if i%2 == 1 {
				bud = b
			}
			for range 4 {
				_, err := bud.Take(ctx)
				var se *askbudget.SpentError
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &se):
					spent.Add(1)
				default:
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 10 || spent.Load() != 6 {
		t.Fatalf("%d taken, %d refused; want 10, 6", ok.Load(), spent.Load())
	}
	s, err := a.Today(ctx)
	if err != nil || s.Requests != 10 || s.Day != "2026-11-30" {
		t.Fatalf("today %+v %v", s, err)
	}

	// The next day starts afresh; tokens are charged and spend the budget.
	t1 := t0.Add(2 * time.Minute)
	now.Store(&t1)
	left, err := a.Take(ctx)
	if err != nil || left != 1000 {
		t.Fatalf("new day: %d %v", left, err)
	}
	if err := b.Charge(ctx, 600); err != nil {
		t.Fatal(err)
	}
	if left, err = a.Take(ctx); err != nil || left != 400 {
		t.Fatalf("after 600 tokens: %d %v", left, err)
	}
	if err := a.Charge(ctx, 450); err != nil {
		t.Fatal(err)
	}
	_, err = b.Take(ctx)
	var se *askbudget.SpentError
	if !errors.As(err, &se) || se.Spent.Tokens != 1050 || se.Spent.Requests != 2 ||
		err.Error() != "today's ask budget is spent (2 of 10 questions, 1050 of 1000 tokens); it resets at 2026-12-02T00:00:00Z" {
		t.Fatalf("tokens spent: %v", err)
	}
}

// BenchmarkTakeCharge is the budget's cost per question: one transaction and one increment
// (against the Firestore emulator here; a real database adds its own round trips).
func BenchmarkTakeCharge(b *testing.B) {
	fs := emulatortest.FirestoreClient(b)
	bud := askbudget.New(fs, askbudget.Limits{Requests: 1 << 30, Tokens: 1 << 40}, nil)
	ctx := context.Background()
	for range b.N {
		if _, err := bud.Take(ctx); err != nil {
			b.Fatal(err)
		}
		if err := bud.Charge(ctx, 1000); err != nil {
			b.Fatal(err)
		}
	}
}
