package gateway

import (
	"container/heap"
	"sync"
	"time"
)

// expiryQueue closes connections when their token expires. One goroutine
// and one timer serve the node, set for the earliest expiry of a min-heap:
// adding and removing a connection costs O(log n) under a lock and no
// allocation, where a time.AfterFunc per connection would cost a runtime
// timer and a closure each (BenchmarkExpiry measures both).
type expiryQueue struct {
	mu    sync.Mutex
	items expiryHeap
	wake  chan struct{} // the earliest expiry changed
}

func newExpiryQueue() *expiryQueue {
	return &expiryQueue{wake: make(chan struct{}, 1)}
}

// add queues c, whose c.expires is set, until it expires or is removed.
func (q *expiryQueue) add(c *conn) {
	q.mu.Lock()
	heap.Push(&q.items, c)
	first := c.expiryIndex == 0
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// remove takes c out of the queue if it is there.
func (q *expiryQueue) remove(c *conn) {
	q.mu.Lock()
	if c.expiryIndex >= 0 {
		heap.Remove(&q.items, c.expiryIndex)
	}
	q.mu.Unlock()
}

// run calls expire for each connection as its expiry passes, until stop.
func (q *expiryQueue) run(stop <-chan struct{}, expire func(*conn)) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var due []*conn
	for {
		now := time.Now().UnixNano()
		q.mu.Lock()
		for len(q.items) > 0 && q.items[0].expires <= now {
			due = append(due, heap.Pop(&q.items).(*conn))
		}
		next := time.Duration(-1)
		if len(q.items) > 0 {
			next = time.Duration(q.items[0].expires - now)
		}
		q.mu.Unlock()
		for i, c := range due {
			expire(c)
			due[i] = nil
		}
		due = due[:0]
		if next >= 0 {
			timer.Reset(next)
		} else {
			timer.Stop()
		}
		select {
		case <-stop:
			timer.Stop()
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// expiryHeap orders connections by expiry for container/heap; each knows
// its index, so that remove is O(log n).
type expiryHeap []*conn

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].expiryIndex, h[j].expiryIndex = i, j
}
func (h *expiryHeap) Push(x any) {
	c := x.(*conn)
	c.expiryIndex = len(*h)
	*h = append(*h, c)
}
func (h *expiryHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.expiryIndex = -1
	return c
}
