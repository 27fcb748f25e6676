package aco_test

import (
	"fmt"
	"sync"

	"github.com/arkenstone-go/arkenstone/aco"
)

// The synopsis of libaco's README: a main co resumes a share-stack co that
// yields from inside a nested call and reports through its argument.
func Example() {
	aco.ThreadInit(nil)
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)

	foo := func(co *aco.Co, ct int) {
		fmt.Println("co: yield to main_co:", *co.Arg().(*int))
		co.Yield()
		*co.Arg().(*int) = ct + 1
	}
	arg := 0
	co := aco.Create(mainCo, ss, 0, func(co *aco.Co) {
		fmt.Println("co: entry:", *co.Arg().(*int))
		for ct := 0; ct < 6; ct++ {
			foo(co, ct)
		}
		fmt.Println("co: exit to main_co:", *co.Arg().(*int))
		co.Exit()
	}, &arg)

	for ct := 0; ct < 6; ct++ {
		fmt.Println("main_co: yield to co:", ct)
		co.Resume()
	}
	fmt.Println("main_co: yield to co:", 6)
	co.Resume()
	fmt.Println("main_co: co ended:", co.IsEnd(), "arg:", arg)

	fmt.Println("main_co: destroy and exit")
	co.Destroy()
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// main_co: yield to co: 0
	// co: entry: 0
	// co: yield to main_co: 0
	// main_co: yield to co: 1
	// co: yield to main_co: 1
	// main_co: yield to co: 2
	// co: yield to main_co: 2
	// main_co: yield to co: 3
	// co: yield to main_co: 3
	// main_co: yield to co: 4
	// co: yield to main_co: 4
	// main_co: yield to co: 5
	// co: yield to main_co: 5
	// main_co: yield to co: 6
	// co: exit to main_co: 6
	// main_co: co ended: true arg: 6
	// main_co: destroy and exit
}

// Tutorial 0: the basics, with one main co and one standalone co.
func Example_tutorial0() {
	mainCo := aco.NewMain()
	// A nil share stack makes a standalone co.
	co := aco.Create(mainCo, nil, 0, func(co *aco.Co) {
		ct := co.Arg().(*int)
		for *ct < 3 {
			fmt.Println("co: ct =", *ct)
			*ct++
			co.Yield()
		}
	}, new(int))
	for !co.IsEnd() {
		co.Resume()
	}
	fmt.Println("main: co ended with ct =", *co.Arg().(*int))
	co.Destroy()
	mainCo.Destroy()
	// Output:
	// co: ct = 0
	// co: ct = 1
	// co: ct = 2
	// main: co ended with ct = 3
}

// Tutorial 1: the save-stack statistics of a share-stack co. The counters
// count the copies the copy-stack engine makes; on the portable engine they
// are zero.
func Example_tutorial1() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	co := aco.Create(mainCo, ss, 256, func(co *aco.Co) {
		for i := 0; i < 4; i++ {
			co.Yield()
		}
	}, nil)
	for !co.IsEnd() {
		co.Resume()
	}
	st := co.SaveStack()
	fmt.Println("valid size:", st.ValidSize)
	fmt.Println("saves == restores:", st.CtSave == st.CtRestore)
	fmt.Println("saves counted on this engine:", st.CtSave == 4 || aco.Engine() == aco.Portable)
	fmt.Println("share stack size:", ss.Size())
	co.Destroy()
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// valid size: 256
	// saves == restores: true
	// saves counted on this engine: true
	// share stack size: 2097152
}

// Tutorial 2: a standalone co and two cos that take turns on one share stack.
func Example_tutorial2() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	body := func(co *aco.Co) {
		for i := 0; i < 2; i++ {
			fmt.Printf("%s: step %d\n", co.Arg(), i)
			co.Yield()
		}
	}
	cos := []*aco.Co{
		aco.Create(mainCo, nil, 0, body, "standalone"),
		aco.Create(mainCo, ss, 0, body, "shared A"),
		aco.Create(mainCo, ss, 0, body, "shared B"),
	}
	for !cos[0].IsEnd() {
		for _, co := range cos {
			co.Resume()
		}
	}
	for _, co := range cos {
		co.Destroy()
	}
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// standalone: step 0
	// shared A: step 0
	// shared B: step 0
	// standalone: step 1
	// shared A: step 1
	// shared B: step 1
}

// Tutorial 3: many goroutines, each with its own main co, share stack and
// coroutines, updating one counter under a mutex.
func Example_tutorial3() {
	var (
		mu     sync.Mutex
		yields int
		wg     sync.WaitGroup
	)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mainCo := aco.NewMain()
			ss := aco.NewShareStack(0)
			co := aco.Create(mainCo, ss, 0, func(co *aco.Co) {
				for i := 0; i < 1000; i++ {
					mu.Lock()
					yields++
					mu.Unlock()
					co.Yield()
				}
			}, nil)
			for !co.IsEnd() {
				co.Resume()
			}
			co.Destroy()
			ss.Destroy()
			mainCo.Destroy()
		}()
	}
	wg.Wait()
	fmt.Println("yields:", yields)
	// Output:
	// yields: 4000
}

// Tutorial 4: libaco aborts the process when a co returns instead of calling
// aco_exit. In Go, returning is how a co ends; Exit does the same from any
// call depth, after running the deferred calls.
func Example_tutorial4() {
	mainCo := aco.NewMain()
	returns := aco.Create(mainCo, nil, 0, func(co *aco.Co) {
		co.Yield()
		// falling off the end: the co has ended
	}, nil)
	exits := aco.Create(mainCo, nil, 0, func(co *aco.Co) {
		defer fmt.Println("exits: deferred call ran")
		func() { co.Exit() }()
		fmt.Println("not reached")
	}, nil)
	returns.Resume()
	returns.Resume()
	exits.Resume()
	fmt.Println("returned co ended:", returns.IsEnd())
	fmt.Println("exited co ended:", exits.IsEnd())
	returns.Destroy()
	exits.Destroy()
	mainCo.Destroy()
	// Output:
	// exits: deferred call ran
	// returned co ended: true
	// exited co ended: true
}

// Tutorial 5: a custom last word. The hook runs when a co's function panics,
// then the panic continues in the resumer, where it can be recovered.
func Example_tutorial5() {
	aco.ThreadInit(func(co *aco.Co, v any) {
		fmt.Printf("last word of %v: %v\n", co.Arg(), v)
	})
	defer aco.ThreadInit(nil)

	mainCo := aco.NewMain()
	co := aco.Create(mainCo, nil, 0, func(co *aco.Co) {
		co.Yield()
		panic("something went wrong")
	}, "worker")
	co.Resume()
	func() {
		defer func() { fmt.Println("resumer recovered:", recover()) }()
		co.Resume()
	}()
	fmt.Println("co ended:", co.IsEnd())
	co.Destroy()
	mainCo.Destroy()
	// Output:
	// last word of worker: something went wrong
	// resumer recovered: something went wrong
	// co ended: true
}

// Tutorial 6: a simple round-robin scheduler over coroutines that sleep for a
// number of ticks.
func Example_tutorial6() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	type task struct {
		name  string
		ticks []int // sleep lengths
		wake  int   // tick at which to resume
	}
	var now int
	var ready []*aco.Co
	sleep := func(co *aco.Co, n int) {
		co.Arg().(*task).wake = now + n
		co.Yield()
	}
	for _, tk := range []*task{{name: "a", ticks: []int{1, 1, 1}}, {name: "b", ticks: []int{2, 2}}, {name: "c", ticks: []int{3}}} {
		ready = append(ready, aco.Create(mainCo, ss, 0, func(co *aco.Co) {
			tk := co.Arg().(*task)
			for _, n := range tk.ticks {
				fmt.Printf("t=%d %s sleeps %d\n", now, tk.name, n)
				sleep(co, n)
			}
			fmt.Printf("t=%d %s done\n", now, tk.name)
		}, tk))
	}
	for len(ready) > 0 {
		next := ready[:0]
		for _, co := range ready {
			if co.Arg().(*task).wake <= now {
				co.Resume()
			}
			if co.IsEnd() {
				co.Destroy()
			} else {
				next = append(next, co)
			}
		}
		ready = next
		now++
	}
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// t=0 a sleeps 1
	// t=0 b sleeps 2
	// t=0 c sleeps 3
	// t=1 a sleeps 1
	// t=2 a sleeps 1
	// t=2 b sleeps 2
	// t=3 a done
	// t=3 c done
	// t=4 b done
}

// Pull turns a push iterator into a pull iterator, like iter.Pull, on an aco
// coroutine.
func ExamplePull() {
	count := func(yield func(int) bool) {
		for i := 1; ; i++ {
			if !yield(i) {
				fmt.Println("count: stopped")
				return
			}
		}
	}
	next, stop := aco.Pull(count)
	for i := 0; i < 3; i++ {
		v, ok := next()
		fmt.Println(v, ok)
	}
	stop()
	fmt.Println(next())
	// Output:
	// 1 true
	// 2 true
	// 3 true
	// count: stopped
	// 0 false
}

// A suspended coroutine can be destroyed; its deferred calls run.
func ExampleCo_Destroy() {
	mainCo := aco.NewMain()
	co := aco.Create(mainCo, nil, 0, func(co *aco.Co) {
		defer fmt.Println("cleanup")
		for {
			co.Yield()
		}
	}, nil)
	co.Resume()
	co.Destroy()
	mainCo.Destroy()
	// Output:
	// cleanup
}
