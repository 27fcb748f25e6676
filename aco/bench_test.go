package aco_test

import (
	"iter"
	"strconv"
	"testing"

	"github.com/arkenstone-go/arkenstone/aco"
)

// The benchmarks of cmd/acobench's core cases, for benchstat across
// commits (go test ./aco -run XXX -bench . -count 10). Each reports ns per
// operation: a resume+yield round trip, or a create+first resume+destroy.
// They assert nothing about time.

// benchImpl is one way to run a coroutine body that yields in a loop: start
// returns a function making one resume+yield round trip and a function
// releasing everything.
type benchImpl struct {
	name  string
	start func(stack int) (step func(), done func())
}

var benchImpls = []benchImpl{
	{"sharestack", func(stack int) (func(), func()) {
		m, ss := aco.NewMain(), aco.NewShareStack(0)
		co := aco.Create(m, ss, 64, benchAcoBody(stack), nil)
		co.Resume()
		return co.Resume, func() { co.Destroy(); ss.Destroy(); m.Destroy() }
	}},
	{"standalone", func(stack int) (func(), func()) {
		m := aco.NewMain()
		co := aco.Create(m, nil, 64, benchAcoBody(stack), nil)
		co.Resume()
		return co.Resume, func() { co.Destroy(); m.Destroy() }
	}},
	{"iterpull", func(stack int) (func(), func()) {
		next, stop := iter.Pull(benchPullBody(stack))
		next()
		return func() { next() }, stop
	}},
	{"chan", func(stack int) (func(), func()) {
		in, out := make(chan struct{}), make(chan struct{})
		go benchGoBody(in, out)
		in <- struct{}{}
		<-out
		return func() { in <- struct{}{}; <-out }, func() { close(in); <-out }
	}},
}

func benchFind(name string) benchImpl {
	for _, im := range benchImpls {
		if im.name == name {
			return im
		}
	}
	panic("no benchmark implementation " + name)
}

// BenchmarkRoundTrip: one resume+yield round trip of a single coroutine.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("sharestack", func(b *testing.B) {
		m, ss := aco.NewMain(), aco.NewShareStack(0)
		co := aco.Create(m, ss, 64, benchIdle, nil)
		co.Resume()
		for b.Loop() {
			co.Resume()
		}
		co.Destroy()
		ss.Destroy()
		m.Destroy()
	})
	b.Run("standalone", func(b *testing.B) {
		m := aco.NewMain()
		co := aco.Create(m, nil, 64, benchIdle, nil)
		co.Resume()
		for b.Loop() {
			co.Resume()
		}
		co.Destroy()
		m.Destroy()
	})
	b.Run("iterpull", func(b *testing.B) {
		next, stop := iter.Pull(benchIdleSeq)
		next()
		for b.Loop() {
			next()
		}
		stop()
	})
	b.Run("chan", func(b *testing.B) {
		in, out := make(chan struct{}), make(chan struct{})
		go benchGoBody(in, out)
		for b.Loop() {
			in <- struct{}{}
			<-out
		}
		close(in)
		<-out
	})
}

// BenchmarkRoundRobin1000: 1000 coroutines resumed in turn; ns/op is one
// round trip.
func BenchmarkRoundRobin1000(b *testing.B) {
	const n = 1000
	for _, im := range benchImpls {
		b.Run(im.name, func(b *testing.B) {
			steps := make([]func(), n)
			dones := make([]func(), n)
			for i := range n {
				steps[i], dones[i] = im.start(0)
			}
			i := 0
			for b.Loop() {
				steps[i]()
				if i++; i == n {
					i = 0
				}
			}
			for _, done := range dones {
				done()
			}
		})
	}
}

// BenchmarkCreateResumeDestroy: create a coroutine (save-stack size 64
// bytes, as in libaco's benchmark), resume it once, destroy it.
func BenchmarkCreateResumeDestroy(b *testing.B) {
	b.Run("sharestack", func(b *testing.B) {
		m, ss := aco.NewMain(), aco.NewShareStack(0)
		for b.Loop() {
			co := aco.Create(m, ss, 64, benchIdle, nil)
			co.Resume()
			co.Destroy()
		}
		ss.Destroy()
		m.Destroy()
	})
	b.Run("standalone", func(b *testing.B) {
		m := aco.NewMain()
		for b.Loop() {
			co := aco.Create(m, nil, 64, benchIdle, nil)
			co.Resume()
			co.Destroy()
		}
		m.Destroy()
	})
	b.Run("iterpull", func(b *testing.B) {
		for b.Loop() {
			next, stop := iter.Pull(benchIdleSeq)
			next()
			stop()
		}
	})
}

// BenchmarkStackSize: the round trip of one coroutine whose body holds a
// live array of the given number of bytes across each yield (what a
// copy-stack switch has to save and restore, besides the frames themselves).
func BenchmarkStackSize(b *testing.B) {
	for _, stack := range []int{0, 120, 1000, 7992} {
		b.Run(strconv.Itoa(stack), func(b *testing.B) {
			for _, name := range []string{"sharestack", "iterpull"} {
				b.Run(name, func(b *testing.B) {
					step, done := benchFind(name).start(stack)
					for b.Loop() {
						step()
					}
					done()
				})
			}
		})
	}
}

var benchSink byte

func benchIdle(co *aco.Co) {
	for {
		co.Yield()
	}
}

func benchIdleSeq(yield func(struct{}) bool) {
	for yield(struct{}{}) {
	}
}

func benchGoBody(in <-chan struct{}, out chan<- struct{}) {
	for range in {
		out <- struct{}{}
	}
	out <- struct{}{}
}

type benchArray interface {
	~[120]byte | ~[1000]byte | ~[7992]byte
}

func benchAcoBody(stack int) aco.Func {
	switch stack {
	case 0:
		return benchIdle
	case 120:
		return benchHoldCo[[120]byte]
	case 1000:
		return benchHoldCo[[1000]byte]
	case 7992:
		return benchHoldCo[[7992]byte]
	}
	panic("no body for stack size " + strconv.Itoa(stack))
}

func benchPullBody(stack int) iter.Seq[struct{}] {
	switch stack {
	case 0:
		return benchIdleSeq
	case 120:
		return benchHoldSeq[[120]byte]
	case 1000:
		return benchHoldSeq[[1000]byte]
	case 7992:
		return benchHoldSeq[[7992]byte]
	}
	panic("no body for stack size " + strconv.Itoa(stack))
}

// benchHoldCo yields in a loop with an array of A's size live in its frame:
// written before the first yield, read after every yield.
//
//go:noinline
func benchHoldCo[A benchArray](co *aco.Co) {
	var a A
	for i := range len(a) {
		a[i] = byte(i)
	}
	for i := 0; ; {
		co.Yield()
		benchSink = a[i]
		if i++; i == len(a) {
			i = 0
		}
	}
}

//go:noinline
func benchHoldSeq[A benchArray](yield func(struct{}) bool) {
	var a A
	for i := range len(a) {
		a[i] = byte(i)
	}
	for i := 0; yield(struct{}{}); {
		benchSink = a[i]
		if i++; i == len(a) {
			i = 0
		}
	}
}

// BenchmarkWrappedIterPull measures what one frame between the caller and
// the runtime's coroutine switch costs, on each side: iter.Pull's round
// trip with next and yield called through a function of their own, against
// the plain one (BenchmarkRoundTrip/iterpull). After a goroutine switch the
// CPU's return predictor holds the other goroutine's returns, so each such
// frame costs a mispredicted return; aco's Resume and Yield are such frames
// on the portable engine.
func BenchmarkWrappedIterPull(b *testing.B) {
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		for wrappedYield(yield) {
		}
	})
	for b.Loop() {
		wrappedNext(next)
	}
	stop()
}

//go:noinline
func wrappedNext(next func() (struct{}, bool)) { next() }

//go:noinline
func wrappedYield(yield func(struct{}) bool) bool { return yield(struct{}{}) }

// BenchmarkPullRoundTrip: one next of an aco.Pull iterator over a flat
// generator (a loop that yields), against iter.Pull's: the shape of the
// simplest pull iterator.
func BenchmarkPullRoundTrip(b *testing.B) {
	b.Run("aco", func(b *testing.B) {
		next, stop := aco.Pull(benchCount)
		for b.Loop() {
			next()
		}
		stop()
	})
	b.Run("iterpull", func(b *testing.B) {
		next, stop := iter.Pull(benchCount)
		for b.Loop() {
			next()
		}
		stop()
	})
}

func benchCount(yield func(int) bool) {
	for i := 0; yield(i); i++ {
	}
}

// BenchmarkCoroutineRoundTrip is the round trip of a Coroutine passing an
// int each way (typed), against a Co of Create passing it through a
// variable of its resumer (untyped), on each kind of coroutine: the typed
// layer's cost is the ratio of the two.
func BenchmarkCoroutineRoundTrip(b *testing.B) {
	for _, k := range []struct {
		name string
		ss   func() *aco.ShareStack
	}{{"sharestack", func() *aco.ShareStack { return aco.NewShareStack(0) }}, {"standalone", func() *aco.ShareStack { return nil }}} {
		b.Run(k.name+"/typed", func(b *testing.B) {
			m, ss := aco.NewMain(), k.ss()
			c := aco.NewCoroutine(m, ss, func(c *aco.Coroutine[int, int], in int) {
				for {
					in = c.Yield(in + 1)
				}
			})
			c.Resume(0)
			n := 0
			for b.Loop() {
				n, _ = c.Resume(n)
			}
			benchSink = byte(n)
			c.Destroy()
			if ss != nil {
				ss.Destroy()
			}
			m.Destroy()
		})
		b.Run(k.name+"/untyped", func(b *testing.B) {
			m, ss := aco.NewMain(), k.ss()
			var in, out int
			co := aco.Create(m, ss, 0, func(co *aco.Co) {
				for {
					out = in + 1
					co.Yield()
				}
			}, nil)
			co.Resume()
			n := 0
			for b.Loop() {
				in = n
				co.Resume()
				n = out
			}
			benchSink = byte(n)
			co.Destroy()
			if ss != nil {
				ss.Destroy()
			}
			m.Destroy()
		})
	}
}
