package fetch

import "time"

// flushReason says why pending records are published now; "" means keep reading.
type flushReason string

// The reasons to publish.
const (
	flushFull   flushReason = "full"   // BatchRecords records are pending
	flushEnd    flushReason = "end"    // the stream is done: the rest, then the last batch (even empty)
	flushBudget flushReason = "budget" // the time budget is spent: the rest, before the checkpoint
	flushIdle   flushReason = "idle"   // a burst of pages ended: the client's pacing holds the next one a while
	flushAge    flushReason = "age"    // the oldest pending record has waited BatchAge
)

// flushReason decides, between pages, whether to publish a batch now (and is asked again after
// each one): full batches as they fill; the rest when the stream ends (and a last batch even if
// nothing is pending, as the run's end marker) or the budget is spent (so the checkpoint has
// nothing pending); otherwise what earlyFlush says about fewer records than a full batch.
// lastGap is how long the last page took to arrive after the one before it.
func (s *Service) flushReason(stream Stream, ages *arrivals, done, outOfTime bool, now time.Time, lastGap time.Duration) flushReason {
	switch p := stream.Pending(); {
	case p >= s.batchRecords():
		return flushFull
	case done:
		return flushEnd
	case p == 0:
		return ""
	case outOfTime:
		return flushBudget
	}
	var wait time.Duration
	if w, ok := stream.(Waiter); ok {
		wait = w.NextWait()
	}
	oldest, _ := ages.oldest()
	return earlyFlush(oldest, now, s.batchAge(), wait, lastGap)
}

// earlyFlush decides whether records pending since oldest (fewer than a full batch) are
// published before the next page, which the client's pacing would hold for nextWait, the last
// page having come lastGap after the one before it. Yes when a burst of pages has ended: the
// wait is idleFlushWait or more and at least twice lastGap (process lands them meanwhile,
// instead of after the wait). A client that spaces every request (a limit below a request a
// second) holds each page about as long as the last took: flushing before each wait would make
// a batch of every page, each costing Sheets writes, so its records go by size or by age. And
// yes when the oldest has waited maxAge or more.
func earlyFlush(oldest, now time.Time, maxAge, nextWait, lastGap time.Duration) flushReason {
	switch {
	case nextWait >= idleFlushWait && nextWait >= 2*lastGap:
		return flushIdle
	case !oldest.IsZero() && now.Sub(oldest) >= maxAge:
		return flushAge
	}
	return ""
}

// arrivals remembers when the pending records were read, page by page, oldest first, so that
// fetch knows how long the oldest has waited.
type arrivals struct {
	pages []arrival
}

// arrival is n records of one page, read at at.
type arrival struct {
	n  int
	at time.Time
}

// add records n records read at at (a page; an empty one is not kept).
func (a *arrivals) add(n int, at time.Time) {
	if n > 0 {
		a.pages = append(a.pages, arrival{n, at})
	}
}

// drop forgets the n oldest records (published).
func (a *arrivals) drop(n int) {
	for n > 0 && len(a.pages) > 0 {
		if a.pages[0].n > n {
			a.pages[0].n -= n
			return
		}
		n -= a.pages[0].n
		a.pages = a.pages[1:]
	}
}

// oldest returns when the oldest pending record was read; false when none is pending.
func (a *arrivals) oldest() (time.Time, bool) {
	if len(a.pages) == 0 {
		return time.Time{}, false
	}
	return a.pages[0].at, true
}
