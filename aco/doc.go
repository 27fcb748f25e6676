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
// # Kinds of coroutine
//
// As in libaco there are main coroutines (the resuming side) and non-main
// coroutines. A non-main coroutine created with a [ShareStack] is a
// share-stack coroutine; one created with a nil share stack is standalone.
// Coroutines on one share stack run one at a time: resuming a coroutine whose
// share stack is busy with another running coroutine panics, as it would
// corrupt libaco's single execution stack.
//
// # Engines
//
// Go code must only ever run on stacks the Go runtime owns, so aco cannot
// switch the CPU to a separately allocated stack the way libaco does. Every
// coroutine in this release runs on the portable engine: it has a goroutine of
// its own and control passes between it and its resumer through the runtime's
// coroutine switch (the mechanism behind [iter.Pull]). [Engine] reports the
// engine in use. The save-stack statistics ([Co.SaveStack]) count the copies the
// copy-stack engine makes; on the portable engine they stay zero.
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
//     resumer, from the [Co.Resume] call.
//
// Misuse panics with a message that starts with "aco: " and names the mistake;
// the package stays usable after the panic is recovered.
package aco
