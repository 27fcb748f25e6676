//go:build race

package aco

import (
	"runtime"
	"unsafe"
)

// raceWrite tells the race detector that the caller writes the word at p:
// a Pull iterator's next and stop mark their iterator written, as
// iter.Pull's do, so that two goroutines calling them without
// synchronization are reported at the user's calls.
func raceWrite(p unsafe.Pointer) { runtime.RaceWrite(p) }

// raceEnabled: built with the race detector.
const raceEnabled = true
