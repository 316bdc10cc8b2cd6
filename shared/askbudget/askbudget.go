// Package askbudget keeps the daily budget of questions to the model (requests and tokens) in
// Firestore, one document per UTC day (ask_budget/{YYYY-MM-DD}), so every widgetapi instance
// counts against the same numbers: a question takes one request in a transaction before it
// reaches the model, and its tokens are added when it ends.
package askbudget

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Collection holds one document per UTC day.
const Collection = "ask_budget"

// Limits are the most requests and tokens of one UTC day.
type Limits struct {
	Requests int
	Tokens   int
}

// Spent is one day's use.
type Spent struct {
	Day      string `firestore:"day"`
	Requests int    `firestore:"requests"`
	Tokens   int    `firestore:"tokens"`
}

// SpentError is returned by Take when the day's budget is used up; its text is safe to show.
type SpentError struct {
	Spent  Spent
	Limits Limits
	// Resets is when the next day's budget starts.
	Resets time.Time
}

// Error says what is spent and when it resets.
func (e *SpentError) Error() string {
	return fmt.Sprintf("today's ask budget is spent (%d of %d questions, %d of %d tokens); it resets at %s",
		e.Spent.Requests, e.Limits.Requests, e.Spent.Tokens, e.Limits.Tokens, e.Resets.Format(time.RFC3339))
}

// maxAttempts bounds the retries of a contended Take (every instance's questions of a day
// update the same document).
const maxAttempts = 10

// Budget counts one deployment's use.
type Budget struct {
	fs  *firestore.Client
	lim Limits
	now func() time.Time
}

// New returns a budget of lim per UTC day in fs; now is the clock (time.Now when nil).
func New(fs *firestore.Client, lim Limits, now func() time.Time) *Budget {
	if now == nil {
		now = time.Now
	}
	return &Budget{fs: fs, lim: lim, now: now}
}

func (b *Budget) today() (day string, resets time.Time) {
	t := b.now().UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.Format(time.DateOnly), d.AddDate(0, 0, 1)
}

// Take counts one request against today's budget and returns the tokens left today; a
// *SpentError when no request or no token is left.
func (b *Budget) Take(ctx context.Context) (tokensLeft int, err error) {
	day, resets := b.today()
	ref := b.fs.Collection(Collection).Doc(day)
	err = b.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		s := Spent{Day: day}
		snap, err := tx.Get(ref)
		switch {
		case status.Code(err) == codes.NotFound:
		case err != nil:
			return err
		default:
			if err := snap.DataTo(&s); err != nil {
				return err
			}
		}
		if s.Requests >= b.lim.Requests || s.Tokens >= b.lim.Tokens {
			return &SpentError{Spent: s, Limits: b.lim, Resets: resets}
		}
		tokensLeft = b.lim.Tokens - s.Tokens
		s.Requests++
		return tx.Set(ref, map[string]any{"day": day, "requests": s.Requests}, firestore.MergeAll)
	}, firestore.MaxAttempts(maxAttempts))
	var se *SpentError
	if errors.As(err, &se) {
		return 0, se
	}
	if err != nil {
		return 0, fmt.Errorf("askbudget.Take %s: %w", day, err)
	}
	return tokensLeft, nil
}

// Charge adds a question's tokens to today's use.
func (b *Budget) Charge(ctx context.Context, tokens int) error {
	if tokens <= 0 {
		return nil
	}
	day, _ := b.today()
	_, err := b.fs.Collection(Collection).Doc(day).Set(ctx, map[string]any{"day": day, "tokens": firestore.Increment(tokens)}, firestore.MergeAll)
	if err != nil {
		return fmt.Errorf("askbudget.Charge %s: %w", day, err)
	}
	return nil
}

// Today returns today's use.
func (b *Budget) Today(ctx context.Context) (Spent, error) {
	day, _ := b.today()
	snap, err := b.fs.Collection(Collection).Doc(day).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Spent{Day: day}, nil
	}
	if err != nil {
		return Spent{}, fmt.Errorf("askbudget.Today %s: %w", day, err)
	}
	var s Spent
	if err := snap.DataTo(&s); err != nil {
		return Spent{}, fmt.Errorf("askbudget.Today %s: %w", day, err)
	}
	return s, nil
}
