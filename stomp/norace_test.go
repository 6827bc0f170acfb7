//go:build !race

package stomp_test

const raceEnabled = false
