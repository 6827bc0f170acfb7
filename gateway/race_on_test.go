//go:build race

package gateway_test

// raceEnabled: the tests run with -race, whose instrumentation doubles the
// runtime's stack guard.
const raceEnabled = true
