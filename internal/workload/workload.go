// Package workload holds the generator workloads aco's benchmarks measure:
// the shapes Go programmers write, not a flat `for { yield() }` — recursive
// walks with many distinct call paths, callbacks from library walkers
// (go/ast.Inspect, filepath.WalkDir), a coroutine that pulls from another
// one, and many shallow actors in round robin. Each runs through any of
// the pull implementations compared (Impl), so that one run measures them
// side by side.
package workload

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"

	"github.com/arkenstone-go/arkenstone/aco"
)

// Impl is a way to turn a push iterator into a pull iterator.
type Impl int

// The implementations compared.
const (
	ShareStack Impl = iota // aco.Pull: a share-stack coroutine (the default engine)
	Standalone             // aco.PullOn(nil, ...): iter.Pull behind aco's guard (a goroutine)
	IterPull               // iter.Pull
	Chan                   // a goroutine driven over channels
)

// Impls lists every implementation, in report order.
var Impls = []Impl{ShareStack, Standalone, IterPull, Chan}

func (i Impl) String() string {
	switch i {
	case ShareStack:
		return "aco.Pull (share stack)"
	case Standalone:
		return "aco.PullOn(nil) (standalone)"
	case IterPull:
		return "iter.Pull"
	case Chan:
		return "goroutine+channel"
	}
	return fmt.Sprintf("Impl(%d)", int(i))
}

// Pull is iter.Pull through impl.
func Pull[V any](impl Impl, seq iter.Seq[V]) (next func() (V, bool), stop func()) {
	switch impl {
	case ShareStack:
		return aco.Pull(seq)
	case Standalone:
		return aco.PullOn(nil, seq)
	case IterPull:
		return iter.Pull(seq)
	case Chan:
		return chanPull(seq)
	}
	panic("workload: unknown implementation " + impl.String())
}

// chanPull runs seq on a goroutine of its own and hands each value over an
// unbuffered channel, the way Go programs did before iter.Pull.
func chanPull[V any](seq iter.Seq[V]) (func() (V, bool), func()) {
	type msg struct {
		v  V
		ok bool
	}
	req, resp := make(chan bool), make(chan msg)
	started, done := false, false
	run := func() {
		defer close(resp)
		if !<-req {
			return
		}
		seq(func(v V) bool {
			resp <- msg{v, true}
			return <-req
		})
	}
	next := func() (V, bool) {
		if done {
			var zero V
			return zero, false
		}
		if !started {
			started = true
			go run()
		}
		req <- true
		m, ok := <-resp
		if !ok || !m.ok {
			done = true
		}
		return m.v, m.ok
	}
	stop := func() {
		if done {
			return
		}
		done = true
		if !started {
			return
		}
		req <- false
		for range resp {
		}
	}
	return next, stop
}

// A Workload is one shape of generator. Start readies it for impl; each
// call of step runs one pass (a whole traversal, or one round of every
// actor) and returns how many values it pulled; stop releases everything.
type Workload struct {
	Name  string
	Start func(impl Impl) (step func() int, stop func())
}

// drain pulls every value of seq through impl.
func drain[V any](impl Impl, seq iter.Seq[V]) int {
	next, stop := Pull(impl, seq)
	defer stop()
	n := 0
	for {
		if _, ok := next(); !ok {
			return n
		}
		n++
	}
}

// passes is the Start of a workload whose pass pulls a whole sequence
// through a new iterator.
func passes[V any](seq iter.Seq[V]) func(Impl) (func() int, func()) {
	return func(impl Impl) (func() int, func()) {
		return func() int { return drain(impl, seq) }, func() {}
	}
}

// Node is a binary tree node.
type Node struct {
	L, R *Node
	V    int
}

// NewTree builds a complete binary tree of the given depth (2^depth - 1
// nodes), numbered in order.
func NewTree(depth int) *Node {
	n := 0
	var build func(d int) *Node
	build = func(d int) *Node {
		if d == 0 {
			return nil
		}
		t := &Node{L: build(d - 1)}
		t.V = n
		n++
		t.R = build(d - 1)
		return t
	}
	return build(depth)
}

// walk is the recursive in-order walk a Go programmer writes for a range
// function: two recursive call sites, so a tree of depth d has 2^d distinct
// call paths to the yield.
func (t *Node) walk(yield func(int) bool) bool {
	return t == nil || t.L.walk(yield) && yield(t.V) && t.R.walk(yield)
}

// All is the in-order push iterator over t.
func (t *Node) All() iter.Seq[int] { return func(yield func(int) bool) { t.walk(yield) } }

// Tree is the in-order walk of a complete binary tree of the given depth.
// The tree is built by Start, not here: a report lists its workloads
// before it measures anything, and the trees of every depth, live all
// along, would make the garbage collector's work in the rows measured
// first (creating coroutines) several times what it is.
func Tree(depth int) Workload {
	return Workload{Name: fmt.Sprintf("tree walk, depth %d", depth), Start: func(impl Impl) (func() int, func()) {
		return passes(NewTree(depth).All())(impl)
	}}
}

// SourceFile is the Go file Inspect parses: one of the largest in the
// toolchain's own sources.
func SourceFile() string { return filepath.Join(runtime.GOROOT(), "src", "go", "types", "expr.go") }

// Inspect yields every node of file's syntax tree from go/ast.Inspect's
// callback.
func Inspect(file string) (Workload, error) {
	// Parsed here, to report a file that does not parse, and again by
	// Start, so that the syntax tree is live only while it is walked (see
	// Tree).
	if _, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments); err != nil {
		return Workload{}, err
	}
	return Workload{Name: "go/ast.Inspect of " + filepath.Base(file), Start: func(impl Impl) (func() int, func()) {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
		if err != nil {
			panic("workload: " + err.Error()) // it parsed when the workload was made
		}
		seq := func(yield func(ast.Node) bool) {
			ok := true
			ast.Inspect(f, func(n ast.Node) bool {
				ok = ok && n != nil && yield(n)
				return ok
			})
		}
		return passes(iter.Seq[ast.Node](seq))(impl)
	}}, nil
}

// WalkDir yields every entry under root from filepath.WalkDir's callback.
func WalkDir(root string) (Workload, error) {
	if _, err := os.Stat(root); err != nil {
		return Workload{}, err
	}
	seq := func(yield func(fs.DirEntry) bool) {
		filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if !yield(d) {
				return filepath.SkipAll
			}
			return nil
		})
	}
	return Workload{Name: "filepath.WalkDir of GOROOT/src", Start: passes(iter.Seq[fs.DirEntry](seq))}, nil
}

// GoSrc is the directory WalkDir walks.
func GoSrc() string { return filepath.Join(runtime.GOROOT(), "src") }

// Nested is a lexer coroutine feeding a recursive-descent parser coroutine:
// the parser pulls the tokens of an arithmetic program (n statements) from
// the lexer's iterator, inside its own generator, and yields the value of
// each statement. A pass counts the tokens and the values.
func Nested(n int) Workload {
	src := program(n)
	return Workload{Name: fmt.Sprintf("lexer coroutine feeding a parser coroutine, %d statements", n), Start: func(impl Impl) (func() int, func()) {
		return func() int {
			tokens := 0
			parse := func(yield func(int) bool) {
				next, stop := Pull(impl, lex(src))
				defer stop()
				p := &parserState{next: func() token1 { t, _ := next(); tokens++; return t }}
				p.advance()
				for p.tok.kind != tEOF {
					if !yield(p.statement()) {
						return
					}
				}
			}
			return drain(impl, parse) + tokens
		}, func() {}
	}}
}

// Actors is n simulated actors in round robin: each is a generator that
// yields from 3 to 5 frames deep, and a pass resumes every one once.
func Actors(n int) Workload {
	return Workload{Name: fmt.Sprintf("%d actors in round robin, yielding 3-5 frames deep", n), Start: func(impl Impl) (func() int, func()) {
		nexts := make([]func() (int, bool), n)
		stops := make([]func(), n)
		for i := range n {
			nexts[i], stops[i] = Pull(impl, actor(i))
		}
		return func() int {
				for _, next := range nexts {
					next()
				}
				return n
			}, func() {
				for _, stop := range stops {
					stop()
				}
			}
	}}
}

// actor i is a body whose yield is depth 3, 4 or 5 frames below it.
func actor(i int) iter.Seq[int] {
	return func(yield func(int) bool) {
		state := actorState{id: i, depth: 3 + i%3}
		for state.step(yield, 1) {
		}
	}
}

type actorState struct {
	id, depth, ticks int
}

//go:noinline
func (a *actorState) step(yield func(int) bool, d int) bool {
	if d < a.depth {
		return a.step(yield, d+1)
	}
	a.ticks++
	return yield(a.ticks)
}

// Send is a coroutine that takes a value at every resume and yields one
// back (a running sum), n round trips a pass: what Lua's resume and yield
// or a Python generator's send do. The aco implementations use the typed
// aco.Coroutine (on a share stack, and standalone); iter.Pull passes the
// value in through a variable of its caller, as a Go program has to; the
// goroutine gets a channel each way.
func Send(n int) Workload {
	return Workload{Name: fmt.Sprintf("values both ways (aco.Coroutine), %d round trips", n), Start: func(impl Impl) (func() int, func()) {
		ck := new(sumCheck)
		switch impl {
		case ShareStack, Standalone:
			m := aco.NewMain()
			var ss *aco.ShareStack
			if impl == ShareStack {
				ss = aco.NewShareStack(0)
			}
			c := aco.NewCoroutine(m, ss, func(c *aco.Coroutine[int, int], v int) {
				sum := 0
				for {
					sum += v
					v = c.Yield(sum)
				}
			})
			return func() int {
					for i := range n {
						v, _ := c.Resume(i)
						ck.check(i, v)
					}
					return n
				}, func() {
					c.Destroy()
					if ss != nil {
						ss.Destroy()
					}
					m.Destroy()
				}
		case IterPull:
			var in int
			next, stop := iter.Pull(func(yield func(int) bool) {
				sum := 0
				for {
					sum += in
					if !yield(sum) {
						return
					}
				}
			})
			return func() int {
				for i := range n {
					in = i
					v, _ := next()
					ck.check(i, v)
				}
				return n
			}, stop
		case Chan:
			in, out := make(chan int), make(chan int)
			go func() {
				sum := 0
				for v := range in {
					sum += v
					out <- sum
				}
				close(out)
			}()
			return func() int {
					for i := range n {
						in <- i
						ck.check(i, <-out)
					}
					return n
				}, func() {
					close(in)
					<-out
				}
		}
		panic("workload: unknown implementation " + impl.String())
	}}
}

// sumCheck checks the running sums Send's coroutine yields.
type sumCheck struct{ sum int }

func (s *sumCheck) check(sent, got int) {
	if s.sum += sent; got != s.sum {
		panic(fmt.Sprintf("workload: Send: the coroutine yielded %d, want the running sum %d", got, s.sum))
	}
}
