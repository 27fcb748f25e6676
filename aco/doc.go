// Package aco brings libaco's asymmetric stackful coroutines to Go.
//
// A coroutine (a [Co]) runs a function that can suspend itself at any call
// depth with [Co.Yield] and be continued later with [Co.Resume]. It is the
// model of the C library libaco, kept recognisable in Go form:
//
//	main := aco.NewMain()                  // aco_create(NULL, NULL, 0, NULL, NULL)
//	ss := aco.NewShareStack(0)             // aco_share_stack_new(0)
//	co := aco.Create(main, ss, 0, func(co *aco.Co) {
//		for i := 0; i < 3; i++ {
//			fmt.Println("co:", i)
//			co.Yield()                     // aco_yield()
//		}
//	}, nil)
//	for !co.IsEnd() {
//		co.Resume()                        // aco_resume(co)
//	}
//	co.Destroy()                           // aco_destroy(co)
//	ss.Destroy()                           // aco_share_stack_destroy(ss)
//	main.Destroy()
//
// # Which coroutines to use
//
//   - Share-stack coroutines ([Create] with a [ShareStack]) are the cheap
//     ones for many small coroutines that yield from shallow frames:
//     actors, state machines, hand-rolled schedulers. A suspended one with
//     a small frame takes a few hundred bytes; each switch copies and scans
//     the frames live at the yield, so its cost grows with them.
//   - Standalone coroutines ([Create] with a nil share stack) share their
//     stack with no other coroutine, so none waits for another to yield.
//     They cost what a share-stack coroutine alone on its share stack
//     costs (a round trip under half of iter.Pull's for a flat one), and
//     one whose yields hold frames past [MoveThreshold] moves onto a
//     goroutine of its own, whose switch does not depend on depth.
//   - [Pull], [Pull2], [PullOn] and [Pull2On] are drop-ins for iter.Pull
//     and iter.Pull2 on a share-stack coroutine; an iterator dropped
//     without stop is reclaimed by the garbage collector. A generator whose
//     yields keep costing more than a goroutine switch moves onto a
//     goroutine of its own ([MoveThreshold]), and the next iterators of the
//     same generator function start there; deep recursive generators are
//     still faster through iter.Pull.
//   - [Coroutine] passes values both ways: [Coroutine.Resume] sends one in
//     and returns the one the coroutine yields, as Lua's resume and yield
//     or a Python generator's send.
//   - [Co.Stack] and [Co.WriteStacks] show where suspended coroutines are,
//     which the runtime's goroutine dumps cannot.
//
// The repository's docs/performance.md has the measurements behind these
// choices, as ratios to iter.Pull.
//
// # Rules
//
//   - Any goroutine may resume, destroy or reset a co, and a running co
//     may resume other coroutines (each yields back to whoever resumed it).
//     Two goroutines that do so to one co at once, or resume two cos of one
//     share stack at once, or call one Pull iterator's next or stop at
//     once, never both get it: the second call panics before it touches
//     any stack ("aco: Resume of a running co while another goroutine runs
//     it", "aco: Pull: next called from two goroutines at once"), the first
//     goes on, and the co or iterator stays usable. This costs one atomic
//     instruction per resume (on the share stack, which is the lock of its
//     coroutines; on a standalone co, on the co) and one per call of a Pull
//     iterator. Creating coroutines of one main co, or
//     destroying several of them, from several goroutines at once needs the
//     caller's synchronisation, as libaco's main co belongs to a thread
//     (the race detector reports it).
//   - Coroutines on one share stack run one at a time: resuming a coroutine
//     whose share stack is busy with another running coroutine panics, as
//     it would corrupt libaco's single execution stack. Destroying a
//     suspended coroutine works whatever its share stack runs: a supervisor
//     may destroy a sibling.
//   - Misuse panics with a message that starts with "aco: " and says what
//     the program did: resuming a running co (from inside itself or a co it
//     resumed, or while another goroutine runs it), an ended or destroyed
//     co, yielding outside the co, destroying a running co or a main co or
//     share stack that still has coroutines, a nil *Co, a zero Co or
//     ShareStack value, a nil iterator. The package stays usable after the
//     panic is recovered.
//   - [Co.Destroy] is strict; [Co.DestroyAll] ends a main co and everything
//     it still owns, for shutdowns and test cleanups.
//
// # Engines
//
// Go code must only ever run on stacks the Go runtime owns, so aco cannot
// switch the CPU to a separately allocated stack the way libaco does. It
// has two engines instead:
//
//   - The copy-stack engine runs coroutines, share-stack and standalone, on
//     linux/amd64 and linux/386 with Go 1.26 and 1.27, outside the race
//     detector. A co runs
//     on the stack of the goroutine that resumes it, as ordinary frames; at
//     every yield its frames are copied into its private save stack and the
//     heap pointers they hold are kept visible to the garbage collector.
//   - The portable engine runs coroutines that moved off their share
//     stacks, and every coroutine where the copy-stack engine is not
//     available: each co has a goroutine
//     of its own and control passes through the runtime's coroutine switch
//     (the mechanism behind [iter.Pull]).
//
// [Engine] reports the engine of new coroutines and [EngineNote] why
// the portable one was chosen; the environment variable ACO_ENGINE=portable
// forces it. Both behave the same. The save-stack statistics
// ([Co.SaveStack]) count real copies, so they stay zero on the portable
// engine.
//
// A copy-stack switch costs the frames it copies and scans. A share-stack
// co whose yields keep costing more than a goroutine switch ([MoveThreshold])
// is moved by the engine, at a resume, onto a goroutine of its own, where
// it switches as on the portable engine without copying; nothing else about
// it changes. [Co.Moved] and [Co.Engine] tell where a co runs. The
// environment variable ACO_MOVE_THRESHOLD, read at init, overrides the
// policy: "off" keeps every co on its share stack, a byte count N moves a
// co at its first yield of more than N bytes; any other value panics.
//
// # Go semantics
//
// Where C had no counterpart, aco follows Go:
//
//   - A coroutine function that returns has ended, exactly as if it had called
//     [Co.Exit]; there is no "protector" that aborts the process.
//   - [Co.Exit] and [Co.Destroy] of a suspended coroutine unwind its stack:
//     deferred calls run, as with [runtime.Goexit]. The unwinding is a panic
//     with an [*Unwind] value that aco recovers itself; a deferred recover in
//     the coroutine sees it and must re-panic values it does not own.
//   - A panic inside a coroutine marks it ended, calls the last-word hook set
//     with [ThreadInit] (libaco's protector hook), and continues in the
//     resumer, from the [Co.Resume] call. A deferred call run by the panic
//     may yield; the panic goes on when the coroutine is resumed, as in a
//     goroutine.
package aco
