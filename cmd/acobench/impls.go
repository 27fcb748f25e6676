package main

import (
	"fmt"
	"iter"

	"github.com/arkenstone-go/arkenstone/aco"
)

// implID names one of the measured implementations. Its value is also its
// rank in the table.
type implID int

const (
	implShareStack implID = iota // aco share-stack coroutines
	implStandalone               // aco standalone coroutines
	implIterPull                 // iter.Pull
	implGoroutine                // a goroutine driven over channels
	numImpls
)

var implNames = [numImpls]string{"aco share-stack", "aco standalone", "iter.Pull", "goroutine+channel"}

// implKeys are the names of -mem-impl and of the benchmarks in bench_test.go.
var implKeys = [numImpls]string{"sharestack", "standalone", "iterpull", "chan"}

func (id implID) String() string { return implNames[id] }

func (id implID) isAco() bool { return id == implShareStack || id == implStandalone }

// engine is the engine that runs id's coroutines, as reported in the rows:
// aco.Engine() for aco's (share-stack and standalone) and "-" for the Go
// peers.
func (id implID) engine() string {
	if id.isAco() {
		return string(aco.Engine())
	}
	return "-"
}

func parseImpl(s string) (implID, error) {
	for id, k := range implKeys {
		if k == s {
			return implID(id), nil
		}
	}
	return 0, fmt.Errorf("unknown implementation %q (want sharestack, standalone, iterpull or chan)", s)
}

// saveStackHint is the save-stack size given to aco.Create, as in libaco's
// benchmark (aco_create/init_save_stk_sz=64B).
const saveStackHint = 64

// group is a set of coroutines of one implementation that all run the same
// body. The loops live in the implementations so that a measured round trip
// is a direct call, not an interface call.
type group interface {
	// create creates n coroutines and resumes each once, so that each is
	// suspended at its first yield.
	create(n int)
	// run resumes every coroutine once per pass, in round robin: passes ×
	// size() resume+yield round trips.
	run(passes int)
	// destroy destroys every coroutine (and the main co and share stack).
	destroy()
	size() int
}

// newGroup returns an empty group of implementation id whose coroutines hold
// a live array of stack bytes across every yield; capacity is a hint.
func newGroup(id implID, stack, capacity int) group {
	b := bodiesFor(stack)
	switch id {
	case implShareStack, implStandalone:
		g := &acoGroup{main: aco.NewMain(), body: b.aco, cos: make([]*aco.Co, 0, capacity)}
		if id == implShareStack {
			g.ss = aco.NewShareStack(0)
		}
		return g
	case implIterPull:
		return &pullGroup{seq: b.pull, nexts: make([]func() (struct{}, bool), 0, capacity), stops: make([]func(), 0, capacity)}
	case implGoroutine:
		return &goGroup{body: b.goro, out: make(chan struct{}), ins: make([]chan struct{}, 0, capacity)}
	}
	panic("acobench: unknown implementation")
}

type acoGroup struct {
	main *aco.Co
	ss   *aco.ShareStack // nil for standalone coroutines
	body aco.Func
	cos  []*aco.Co
}

func (g *acoGroup) create(n int) {
	for range n {
		co := aco.Create(g.main, g.ss, saveStackHint, g.body, nil)
		co.Resume()
		g.cos = append(g.cos, co)
	}
}

func (g *acoGroup) run(passes int) {
	cos := g.cos
	for range passes {
		for _, co := range cos {
			co.Resume()
		}
	}
}

func (g *acoGroup) destroy() {
	for _, co := range g.cos {
		co.Destroy()
	}
	g.cos = nil
	if g.ss != nil {
		g.ss.Destroy()
	}
	g.main.Destroy()
}

func (g *acoGroup) size() int { return len(g.cos) }

// copyBytes is the largest save-stack copy of the group's first coroutine
// (0 on the portable engine, which copies nothing).
func (g *acoGroup) copyBytes() int {
	if len(g.cos) == 0 {
		return 0
	}
	return g.cos[0].SaveStack().MaxCopySize
}

type pullGroup struct {
	seq   iter.Seq[struct{}]
	nexts []func() (struct{}, bool)
	stops []func()
}

func (g *pullGroup) create(n int) {
	for range n {
		next, stop := iter.Pull(g.seq)
		next()
		g.nexts = append(g.nexts, next)
		g.stops = append(g.stops, stop)
	}
}

func (g *pullGroup) run(passes int) {
	nexts := g.nexts
	for range passes {
		for _, next := range nexts {
			next()
		}
	}
}

func (g *pullGroup) destroy() {
	for _, stop := range g.stops {
		stop()
	}
	g.nexts, g.stops = nil, nil
}

func (g *pullGroup) size() int { return len(g.nexts) }

// goGroup drives goroutines over channels: each goroutine has its own input
// channel and all answer on out (only one of them runs at a time).
type goGroup struct {
	body func(in <-chan struct{}, out chan<- struct{})
	out  chan struct{}
	ins  []chan struct{}
}

func (g *goGroup) create(n int) {
	for range n {
		in := make(chan struct{})
		go g.body(in, g.out)
		in <- struct{}{}
		<-g.out
		g.ins = append(g.ins, in)
	}
}

func (g *goGroup) run(passes int) {
	ins, out := g.ins, g.out
	for range passes {
		for _, in := range ins {
			in <- struct{}{}
			<-out
		}
	}
}

func (g *goGroup) destroy() {
	for _, in := range g.ins {
		close(in)
		<-g.out
	}
	g.ins = nil
}

func (g *goGroup) size() int { return len(g.ins) }

// createResumeDestroy runs n times: create one coroutine of implementation
// id, resume it once (it suspends at its first yield), destroy it.
func createResumeDestroy(id implID, n int) {
	switch id {
	case implShareStack, implStandalone:
		m := aco.NewMain()
		var ss *aco.ShareStack
		if id == implShareStack {
			ss = aco.NewShareStack(0)
		}
		for range n {
			co := aco.Create(m, ss, saveStackHint, idleAco, nil)
			co.Resume()
			co.Destroy()
		}
		if ss != nil {
			ss.Destroy()
		}
		m.Destroy()
	case implIterPull:
		for range n {
			next, stop := iter.Pull(idlePull)
			next()
			stop()
		}
	case implGoroutine:
		out := make(chan struct{})
		for range n {
			in := make(chan struct{})
			go idleGo(in, out)
			in <- struct{}{}
			<-out
			close(in)
			<-out
		}
	}
}

// The coroutine bodies. Each implementation gets the same body: an endless
// loop that yields, optionally inside a function whose frame holds an array
// of K bytes that is written before the first yield and read after every
// yield, so that the array is live at the yield point.

// bodies is one body in the form each implementation needs.
type bodies struct {
	aco  aco.Func
	pull iter.Seq[struct{}]
	// goro serves one round trip per value received on in, and sends once
	// more on out when in is closed.
	goro func(in <-chan struct{}, out chan<- struct{})
}

// liveStackSizes are libaco's copy_stack_size values (bytes of stack live
// at the yield) used by the live-stack case.
var liveStackSizes = []int{0, 24, 56, 120, 232, 488, 1000, 2024, 4072, 7992}

func bodiesFor(stack int) bodies {
	switch stack {
	case 0:
		return bodies{idleAco, idlePull, idleGo}
	case 24:
		return holding[[24]byte]()
	case 56:
		return holding[[56]byte]()
	case 120:
		return holding[[120]byte]()
	case 232:
		return holding[[232]byte]()
	case 488:
		return holding[[488]byte]()
	case 1000:
		return holding[[1000]byte]()
	case 2024:
		return holding[[2024]byte]()
	case 4072:
		return holding[[4072]byte]()
	case 7992:
		return holding[[7992]byte]()
	}
	panic(fmt.Sprintf("acobench: no body with a live stack of %d bytes", stack))
}

// liveArray lists the arrays a body can hold live across its yields.
type liveArray interface {
	~[24]byte | ~[56]byte | ~[120]byte | ~[232]byte | ~[488]byte |
		~[1000]byte | ~[2024]byte | ~[4072]byte | ~[7992]byte
}

func holding[A liveArray]() bodies { return bodies{holdAco[A], holdPull[A], holdGo[A]} }

// sink keeps the bytes read after each yield observable.
var sink byte

func idleAco(co *aco.Co) {
	for {
		co.Yield()
	}
}

func idlePull(yield func(struct{}) bool) {
	for yield(struct{}{}) {
	}
}

func idleGo(in <-chan struct{}, out chan<- struct{}) {
	for range in {
		out <- struct{}{}
	}
	out <- struct{}{}
}

//go:noinline
func holdAco[A liveArray](co *aco.Co) {
	var a A
	for i := range len(a) {
		a[i] = byte(i)
	}
	for i := 0; ; {
		co.Yield()
		sink = a[i]
		if i++; i == len(a) {
			i = 0
		}
	}
}

//go:noinline
func holdPull[A liveArray](yield func(struct{}) bool) {
	var a A
	for i := range len(a) {
		a[i] = byte(i)
	}
	for i := 0; yield(struct{}{}); {
		sink = a[i]
		if i++; i == len(a) {
			i = 0
		}
	}
}

//go:noinline
func holdGo[A liveArray](in <-chan struct{}, out chan<- struct{}) {
	var a A
	for i := range len(a) {
		a[i] = byte(i)
	}
	i := 0
	for range in {
		sink = a[i]
		if i++; i == len(a) {
			i = 0
		}
		out <- struct{}{}
	}
	out <- struct{}{}
}
