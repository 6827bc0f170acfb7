//go:build race

package exampletest

// raceEnabled: the tests run with -race, so the gateway is built with it.
const raceEnabled = true
