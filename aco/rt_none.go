//go:build !(linux && (amd64 || 386 || arm64) && go1.26 && !go1.28)

package aco

// Without runtime layout tables for this platform or release, the portable
// engine's checks that read the goroutine's state are off.

const rtAvailable = false

func getg() uintptr          { return 0 }
func gM(uintptr) uintptr     { return 0 }
func gPanic(uintptr) uintptr { return 0 }
func gLocks(uintptr) uint64  { return 0 }
func gGoid(uintptr) uint64   { return 0 }
