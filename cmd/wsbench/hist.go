package main

import (
	"math"
	"math/bits"
	"sort"
	"sync/atomic"
	"time"
)

// The histogram is log-linear like HdrHistogram: values below 2*subCount are
// exact, and every power of two above is split into subCount equal buckets.
// The relative error of a reported percentile is therefore below
// 1/subCount (0.8%) at any magnitude, memory is a fixed array whatever the
// number of samples, and two histograms merge by adding their buckets, which
// keeps merged percentiles correct (percentiles themselves cannot be averaged).
const (
	subBits    = 7
	subCount   = 1 << subBits
	numBuckets = (64 - subBits + 1) * subCount
)

// bucketIndex maps a value to its bucket.
func bucketIndex(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return shift*subCount + int(v>>shift)
}

// bucketUpper is the highest value that falls into bucket idx, the value a
// percentile reports (as HdrHistogram's "highest equivalent value").
func bucketUpper(idx int) uint64 {
	if idx < 2*subCount {
		return uint64(idx)
	}
	shift := idx/subCount - 1
	top := uint64(idx - shift*subCount)
	return (top+1)<<shift - 1
}

// Histogram records durations concurrently without locks: the read loops of
// thousands of connections record into one shared histogram.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	min    atomic.Int64
	max    atomic.Int64
}

// newHistogram returns an empty histogram.
func newHistogram() *Histogram {
	h := &Histogram{}
	h.min.Store(math.MaxInt64)
	return h
}

// Record adds one sample; negative durations (clock steps) count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketIndex(uint64(v))].Add(1)
	h.n.Add(1)
	h.sum.Add(uint64(v))
	for cur := h.min.Load(); v < cur && !h.min.CompareAndSwap(cur, v); cur = h.min.Load() {
	}
	for cur := h.max.Load(); v > cur && !h.max.CompareAndSwap(cur, v); cur = h.max.Load() {
	}
}

// Snapshot returns the recorded distribution as a mergeable Latency, or nil
// when nothing was recorded.
func (h *Histogram) Snapshot() *Latency {
	if h.n.Load() == 0 {
		return nil
	}
	l := &Latency{MinNs: h.min.Load(), MaxNs: h.max.Load(), SumNs: h.sum.Load()}
	for i := range h.counts {
		if c := h.counts[i].Load(); c > 0 {
			l.Buckets = append(l.Buckets, [2]uint64{uint64(i), c})
			l.Count += c
		}
	}
	l.fill()
	return l
}

// Latency is a histogram snapshot as it travels in JSON between a child
// process and its parent: the sparse buckets make it mergeable, the
// percentile fields are derived from them for readers of the JSON.
type Latency struct {
	Count   uint64      `json:"count"`
	MinNs   int64       `json:"min_ns"`
	MaxNs   int64       `json:"max_ns"`
	SumNs   uint64      `json:"sum_ns"`
	MeanNs  int64       `json:"mean_ns"`
	P50Ns   int64       `json:"p50_ns"`
	P90Ns   int64       `json:"p90_ns"`
	P99Ns   int64       `json:"p99_ns"`
	P999Ns  int64       `json:"p999_ns"`
	Buckets [][2]uint64 `json:"buckets"` // [bucket index, count], ascending index
}

// Quantile returns the value at quantile q (0..1): the upper bound of the
// bucket holding the ceil(q*Count)-th smallest sample, clamped to the
// observed min and max.
func (l *Latency) Quantile(q float64) int64 {
	if l == nil || l.Count == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(l.Count))), 1)
	var seen uint64
	for _, b := range l.Buckets {
		seen += b[1]
		if seen >= rank {
			v := int64(min(bucketUpper(int(b[0])), math.MaxInt64))
			return min(max(v, l.MinNs), l.MaxNs)
		}
	}
	return l.MaxNs
}

// fill computes the derived fields from the buckets.
func (l *Latency) fill() {
	l.MeanNs = int64(l.SumNs / l.Count)
	l.P50Ns = l.Quantile(0.50)
	l.P90Ns = l.Quantile(0.90)
	l.P99Ns = l.Quantile(0.99)
	l.P999Ns = l.Quantile(0.999)
}

// mergeLatency adds two distributions; either may be nil.
func mergeLatency(a, b *Latency) *Latency {
	if a == nil || b == nil {
		if a == nil {
			return b
		}
		return a
	}
	counts := map[uint64]uint64{}
	for _, bk := range append(append([][2]uint64{}, a.Buckets...), b.Buckets...) {
		counts[bk[0]] += bk[1]
	}
	m := &Latency{
		Count: a.Count + b.Count,
		MinNs: min(a.MinNs, b.MinNs),
		MaxNs: max(a.MaxNs, b.MaxNs),
		SumNs: a.SumNs + b.SumNs,
	}
	for idx, c := range counts {
		m.Buckets = append(m.Buckets, [2]uint64{idx, c})
	}
	sort.Slice(m.Buckets, func(i, j int) bool { return m.Buckets[i][0] < m.Buckets[j][0] })
	m.fill()
	return m
}
