package widgets

import (
	"math"
	"sync"
)

// bufs recycles the scratch slices durations are gathered in (a 365-day query over 200k rows
// gathers up to 200k values; allocating them per query costs more than the query).
var bufs = sync.Pool{New: func() any { b := make([]float64, 0, 1<<16); return &b }}

func getBuf() *[]float64 { b := bufs.Get().(*[]float64); *b = (*b)[:0]; return b }

func putBuf(b *[]float64) {
	if cap(*b) <= 1<<22 {
		bufs.Put(b)
	}
}

// Stats are a duration's count, median and P90 in seconds (null when there are no values).
type Stats struct {
	Count  int      `json:"count"`
	Median *float64 `json:"median"`
	P90    *float64 `json:"p90"`
}

// newStats computes Stats over xs, reordering xs.
func newStats(xs []float64) Stats {
	return Stats{Count: len(xs), Median: Quantile(xs, 0.5), P90: Quantile(xs, 0.9)}
}

// Quantile returns the p-quantile of xs by linear interpolation between closest ranks: with xs
// sorted, h = (n-1)·p and the value x[⌊h⌋] + (h-⌊h⌋)·(x[⌈h⌉]-x[⌊h⌋]), unrounded; nil when
// xs is empty. It reorders xs (a selection, not a full sort).
func Quantile(xs []float64, p float64) *float64 {
	n := len(xs)
	if n == 0 {
		return nil
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	hi := int(math.Ceil(h))
	selectK(xs, lo)
	a := xs[lo]
	b := a
	if hi > lo {
		b = xs[lo+1]
		for _, x := range xs[lo+2:] {
			if x < b {
				b = x
			}
		}
	}
	v := a + (h-float64(lo))*(b-a)
	return &v
}

// selectK reorders xs so that xs[k] is the k-th smallest, with no larger value before it and
// no smaller one after it (Hoare's selection with a median-of-three pivot).
func selectK(xs []float64, k int) {
	lo, hi := 0, len(xs)-1
	for hi > lo {
		if hi-lo < 16 {
			insertion(xs[lo : hi+1])
			return
		}
		mid := lo + (hi-lo)/2
		if xs[mid] < xs[lo] {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if xs[hi] < xs[lo] {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if xs[hi] < xs[mid] {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}

func insertion(xs []float64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// ratio returns num/den, or nil when den is 0.
func ratio(num, den int) *float64 {
	if den == 0 {
		return nil
	}
	v := float64(num) / float64(den)
	return &v
}
