package main

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestBucketBoundsCoverEveryValue(t *testing.T) {
	values := []uint64{0, 1, 127, 128, 255, 256, 257, 1000, 1 << 20, 1<<40 + 12345, math.MaxInt64, math.MaxUint64}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		values = append(values, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range values {
		idx := bucketIndex(v)
		if idx < 0 || idx >= numBuckets {
			t.Fatalf("bucketIndex(%d) = %d, outside 0..%d", v, idx, numBuckets-1)
		}
		upper := bucketUpper(idx)
		if upper < v {
			t.Fatalf("value %d above its bucket's upper bound %d", v, upper)
		}
		if idx > 0 && bucketUpper(idx-1) >= v {
			t.Fatalf("value %d also fits the previous bucket (upper %d)", v, bucketUpper(idx-1))
		}
		if v >= 2*subCount && float64(upper-v) > float64(v)/subCount {
			t.Fatalf("bucket of %d is wider than 1/%d: upper %d", v, subCount, upper)
		}
	}
}

func TestQuantilesMatchExactWithinOneBucket(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name string
		gen  func(i int) int64
		n    int
	}{
		{"uniform 1..1e6", func(i int) int64 { return int64(i + 1) }, 1_000_000},
		{"exponential around 1ms", func(int) int64 { return int64(rng.ExpFloat64() * 1e6) }, 200_000},
		{"constant", func(int) int64 { return 42_000 }, 1000},
		{"two modes", func(i int) int64 { return []int64{1e5, 5e8}[i%2] }, 10_001},
		{"single sample", func(int) int64 { return 7 }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHistogram()
			samples := make([]int64, tc.n)
			for i := range samples {
				samples[i] = tc.gen(i)
				h.Record(time.Duration(samples[i]))
			}
			slices.Sort(samples)
			l := h.Snapshot()
			if l.Count != uint64(tc.n) || l.MinNs != samples[0] || l.MaxNs != samples[tc.n-1] {
				t.Fatalf("count/min/max = %d/%d/%d, want %d/%d/%d", l.Count, l.MinNs, l.MaxNs, tc.n, samples[0], samples[tc.n-1])
			}
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
				rank := max(int(math.Ceil(q*float64(tc.n))), 1)
				exact := samples[rank-1]
				want := min(int64(bucketUpper(bucketIndex(uint64(exact)))), l.MaxNs)
				if got := l.Quantile(q); got != want {
					t.Errorf("q%v = %d, want %d (exact %d)", q, got, want, exact)
				}
			}
		})
	}
}

func TestHistogramMemoryIsBounded(t *testing.T) {
	h := newHistogram()
	for i := range 3_000_000 {
		h.Record(time.Duration(i * 997))
	}
	l := h.Snapshot()
	if l.Count != 3_000_000 {
		t.Fatalf("count = %d", l.Count)
	}
	if len(l.Buckets) > numBuckets {
		t.Fatalf("%d buckets, more than the fixed %d", len(l.Buckets), numBuckets)
	}
}

func TestMergeEqualsOneHistogramOfAllSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a, b, all := newHistogram(), newHistogram(), newHistogram()
	for i := range 100_000 {
		d := time.Duration(rng.ExpFloat64() * float64(time.Millisecond))
		if i%3 == 0 {
			d *= 50 // b is much slower than a
			b.Record(d)
		} else {
			a.Record(d)
		}
		all.Record(d)
	}
	got, want := mergeLatency(a.Snapshot(), b.Snapshot()), all.Snapshot()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged p50/p99 = %d/%d, want %d/%d", got.P50Ns, got.P99Ns, want.P50Ns, want.P99Ns)
	}
}

func TestMergeWithNil(t *testing.T) {
	h := newHistogram()
	h.Record(time.Millisecond)
	l := h.Snapshot()
	tests := []struct {
		name string
		a, b *Latency
		want *Latency
	}{
		{"both nil", nil, nil, nil},
		{"left nil", nil, l, l},
		{"right nil", l, nil, l},
	}
	for _, tc := range tests {
		if got := mergeLatency(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if newHistogram().Snapshot() != nil {
		t.Error("an empty histogram should snapshot to nil")
	}
}
