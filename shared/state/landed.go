package state

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// BatchLanded reports whether batch seq of the run has already landed (process skips the
// Sheets write of a redelivered batch: one read instead of a rewrite).
func (s *Store) BatchLanded(ctx context.Context, runID string, seq int) (bool, error) {
	snap, err := s.batchRef(runID, seq).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("state: read batch %d of run %s: %w", seq, runID, err)
	}
	return snap.Exists(), nil
}
