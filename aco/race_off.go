//go:build !race

package aco

import "unsafe"

// raceWrite is a no-op without the race detector (see race_on.go).
func raceWrite(unsafe.Pointer) {}

// raceEnabled: built with the race detector.
const raceEnabled = false
