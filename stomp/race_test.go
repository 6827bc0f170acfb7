//go:build race

package stomp_test

// raceEnabled: the race detector adds allocations, so allocation counts are
// checked only without it.
const raceEnabled = true
