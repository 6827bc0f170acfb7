// Package ratelog keeps a failure that repeats on every call (every request
// while Redis is away) to one log line per interval, carrying how many
// failures it stands for, instead of one line per call.
package ratelog

import (
	"sync"
	"time"
)

// Interval is how often a Limiter lets a line through, unless set.
const Interval = 10 * time.Second

// Limiter lets one line through per interval and counts the calls it holds
// back. The zero value is ready, with Interval.
type Limiter struct {
	// Interval between two lines; Interval when zero.
	Interval time.Duration

	mu   sync.Mutex
	next time.Time // when the next line may go out
	held int       // calls held back since the last line
}

// Allow reports whether a line may go out now; when it may, count is how
// many failures the line stands for (itself and those held back since the
// last line).
func (l *Limiter) Allow() (ok bool, count int) {
	return l.allow(time.Now())
}

func (l *Limiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.held++
		return false, 0
	}
	every := l.Interval
	if every <= 0 {
		every = Interval
	}
	count := l.held + 1
	l.next, l.held = now.Add(every), 0
	return true, count
}

// Reset lets the next call through at once (the failure is over) and
// returns how many calls were held back since the last line.
func (l *Limiter) Reset() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	held := l.held
	l.next, l.held = time.Time{}, 0
	return held
}
