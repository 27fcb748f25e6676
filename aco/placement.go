//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import "sync/atomic"

// Placement learned per generator. A Pull co whose yields keep costing more
// than a goroutine switch moves onto a goroutine of its own (move.go), but
// only after moveAfter such yields: an iterator that moves always pays them
// first, at the copy path's price. So when the iterators of a generator
// function (its code, not the closure: every tree's walk is one) moved, the
// next ones start on a goroutine from their first next.
//
// The knowledge is a score per function: a move adds placeMoved, each
// iterator started on a goroutine takes one. At zero the next iterator
// starts on its share stack again, where it shows whether its generator
// still moves: if it does, the score goes up again; if its iterators turned
// cheap, it stays at zero. So one iterator in placeMoved+1 of a generator
// that always moves pays for the learning. An iterator started on a
// goroutine that ends (or is stopped) before it would have moved by itself
// sets the score to zero: a generator of short iterators (a walk of a small
// tree with the code of a large one's) must not pay a goroutine for each.
//
// The table is a fixed array, indexed by a hash of the function's entry
// PC: what it holds is bounded whatever the program does, and a function
// that takes another's slot only loses what was learned for the other.
// Entries are single words changed by compare-and-swap, so any goroutine
// may read and update them; a lost update costs speed, never correctness.

// placements holds, per slot, a function's entry PC shifted left by 8
// bits and its score in the low 8 bits.
var placements [placementSlots]atomic.Uint64

const (
	placementSlots = 256
	placeMoved     = 8  // what a move adds to its function's score
	placeMax       = 16 // the most a score holds
)

// placementSlot is pc's slot in placements.
func placementSlot(pc uintptr) *atomic.Uint64 {
	h := uint64(pc) * 0x9e3779b97f4a7c15 // Fibonacci hashing: the top bits mix every bit of pc
	return &placements[h>>(64-8)%placementSlots]
}

// startMoved reports whether the next iterator of the generator whose code
// is at pc is to start on a goroutine of its own, taking one from its score
// if so. Never while moves are off (MoveThreshold, or the tests' pin).
func startMoved(pc uintptr) bool {
	if movesOff() {
		return false
	}
	e := placementSlot(pc)
	for {
		v := e.Load()
		if v>>8 != uint64(pc) || v&0xff == 0 {
			return false
		}
		if e.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

// learnMoved records that an iterator of the generator whose code is at pc
// moved onto a goroutine of its own by itself.
func learnMoved(pc uintptr) {
	e := placementSlot(pc)
	for {
		v := e.Load()
		score := uint64(0)
		if v>>8 == uint64(pc) {
			score = v & 0xff
		}
		if e.CompareAndSwap(v, uint64(pc)<<8|min(score+placeMoved, placeMax)) {
			return
		}
	}
}

// forgetMoved records that an iterator of the generator whose code is at pc
// started on a goroutine and ended before it would have moved by itself:
// moving it cost more than it saved, so the next ones start on their share
// stack (a generator of both long and short iterators learns again from
// the next long one).
func forgetMoved(pc uintptr) {
	e := placementSlot(pc)
	if v := e.Load(); v>>8 == uint64(pc) && v&0xff != 0 {
		e.CompareAndSwap(v, uint64(pc)<<8)
	}
}

// placementScore returns what placements holds for pc (tests).
func placementScore(pc uintptr) int {
	if v := placementSlot(pc).Load(); v>>8 == uint64(pc) {
		return int(v & 0xff)
	}
	return 0
}
