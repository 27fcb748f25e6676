package aco

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMisuseStress is the misuse guarantee under load: goroutines calling
// next, stop, Resume, Destroy and Reset on shared iterators and coroutines
// at once, for a few seconds, in child processes (a crash must fail the
// test, not end the run): the copy-stack engine and the portable one, each
// also under GOGC=1. A child passes when every panic it recovers is one of
// the package's ("aco: ..."), every value and every coroutine's locals are
// intact, and it exits normally. Before the guards, the first collision of
// two nexts crashed the process (corrupted stacks).
func TestMisuseStress(t *testing.T) {
	if os.Getenv(stressChildEnv) != "" {
		stressChild(t)
		return
	}
	d := 2 * time.Second
	if testing.Short() {
		d = 500 * time.Millisecond
	}
	engines := []string{""}
	if copyStackSupported {
		engines = append(engines, "portable")
	}
	for _, eng := range engines {
		for _, gogc := range []string{"", "1"} {
			name := "engine=" + eng + ",GOGC=" + gogc
			if eng == "" {
				name = "engine=" + string(Engine()) + ",GOGC=" + gogc
			}
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
				defer cancel()
				cmd := childCommand(ctx, os.Args[0], "-test.run=^TestMisuseStress$", "-test.count=1", "-test.v")
				cmd.Env = append(os.Environ(), stressChildEnv+"="+d.String())
				if eng != "" {
					cmd.Env = append(cmd.Env, "ACO_ENGINE="+eng)
				}
				if gogc != "" {
					cmd.Env = append(cmd.Env, "GOGC="+gogc)
				}
				outb, err := cmd.CombinedOutput()
				out := string(outb)
				if raceEnabled && err != nil && strings.Contains(out, "stress ok:") && stressRacesAreUsers(out) {
					// The collisions are data races: the race detector
					// reports them, at the user's calls (Pull's next and
					// stop mark their iterator written), and the test
					// framework fails the child for them.
					t.Logf("%s; the race detector reported the collisions at the calls of next and stop", mcLine(out, "stress ok:"))
					return
				}
				if err != nil || !strings.Contains(out, "stress ok:") {
					t.Fatalf("the child failed (%v); its output (first lines):\n%s", err, mcHead(out, 40))
				}
				t.Log(mcLine(out, "stress ok:"))
			})
		}
	}
}

const stressChildEnv = "ACO_MISUSE_STRESS_CHILD"

// stressRacesAreUsers reports whether every access of every race report in
// out is a Pull iterator's mark of its user's call (raceWrite), none an
// access of aco's own.
func stressRacesAreUsers(out string) bool {
	lines := strings.Split(out, "\n")
	n := 0
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if (strings.HasPrefix(l, "Write at ") || strings.HasPrefix(l, "Read at ") ||
			strings.HasPrefix(l, "Previous write at ") || strings.HasPrefix(l, "Previous read at ")) && strings.Contains(l, " by goroutine ") {
			n++
			if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "runtime.racewrite()" {
				return false
			}
		}
	}
	return n > 0
}

// stressVal is what the generators yield: a pointer and a string whose
// contents agree, so that a value torn between two yields, or freed while
// held, shows.
type stressVal struct {
	n int
	p *int
	s string
}

func (v stressVal) ok() bool {
	return v.p != nil && *v.p == v.n && v.s == strconv.Itoa(v.n)
}

type stressIter struct {
	next func() (stressVal, bool)
	stop func()
}

// stressCo is a co of the stress, with the main co of its own, and a share
// stack of its own or (siblings) one share stack with the other siblings:
// a sibling is resumed, destroyed, reset and read while another one runs
// on another goroutine, which is where Destroy, Reset and Stack cannot
// take the share stack (Co.hold). Create and Destroy of siblings take
// sibMu: the share stack's count of its coroutines is the caller's to
// synchronise.
type stressCo struct {
	co      *Co
	m       *Co
	ss      *ShareStack
	sibling bool
}

func stressChild(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(stressChildEnv))
	if err != nil {
		t.Fatal(err)
	}
	const nIters, nCos, nSiblings = 3, 3, 3
	var iters [nIters]atomic.Pointer[stressIter]
	var cos [nCos + nSiblings]atomic.Pointer[stressCo]
	siblings := NewShareStack(0)
	var sibMu sync.Mutex
	var failed atomic.Pointer[string]
	fail := func(f string, a ...any) {
		s := fmt.Sprintf(f, a...)
		failed.CompareAndSwap(nil, &s)
	}
	newIter := func(i int) *stressIter {
		seq := func(yield func(stressVal) bool) {
			keep := make([]int, 16) // a local the GC must keep
			for j := range keep {
				keep[j] = j * i
			}
			for n := 0; n < 200; n++ {
				p := new(int)
				*p = n
				if !yield(stressVal{n, p, strconv.Itoa(n)}) {
					break
				}
				for j := range keep {
					if keep[j] != j*i {
						fail("a generator's local changed: %d at %d", keep[j], j)
					}
				}
			}
		}
		var it stressIter
		if i%2 == 0 {
			it.next, it.stop = Pull(seq)
		} else {
			it.next, it.stop = PullOn(NewShareStack(0), seq)
		}
		return &it
	}
	body := func(co *Co) {
		local := []string{"a", "b", "c"}
		for n := 0; n < 50; n++ {
			co.Yield()
			if strings.Join(local, "") != "abc" {
				fail("a coroutine's local changed: %q", local)
			}
		}
	}
	newCo := func(i int) *stressCo {
		c := &stressCo{m: NewMain()}
		if i >= nCos {
			c.ss, c.sibling = siblings, true // the caller holds sibMu
		} else if i%2 == 0 {
			c.ss = NewShareStack(0)
		}
		c.co = Create(c.m, c.ss, 0, body, nil)
		return c
	}
	for i := range iters {
		iters[i].Store(newIter(i))
	}
	for i := range cos {
		cos[i].Store(newCo(i))
	}

	var ops, panics atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	nG := 2 + rand.IntN(7) // 2 to 8 goroutines
	for g := 0; g < nG; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for time.Now().Before(deadline) && failed.Load() == nil {
				op := rng.IntN(10)
				func() {
					defer func() {
						if r := recover(); r != nil {
							panics.Add(1)
							if s, ok := r.(string); !ok || !strings.HasPrefix(s, "aco: ") {
								fail("a panic that is not the package's: %T %v\n%s", r, r, debug.Stack())
							}
						}
					}()
					ops.Add(1)
					switch {
					case op < 4: // next
						i := rng.IntN(nIters)
						it := iters[i].Load()
						v, ok := it.next()
						if ok && !v.ok() {
							fail("next returned a damaged value: %+v", v)
						}
						if !ok {
							iters[i].CompareAndSwap(it, newIter(i))
						}
					case op < 5: // stop
						i := rng.IntN(nIters)
						it := iters[i].Load()
						it.stop()
						iters[i].CompareAndSwap(it, newIter(i))
					case op < 8: // Resume
						cos[rng.IntN(len(cos))].Load().co.Resume()
					case op < 9: // Destroy, then a new co in its place
						i := rng.IntN(len(cos))
						c := cos[i].Load()
						if c.sibling {
							sibMu.Lock()
							defer sibMu.Unlock()
						}
						c.co.Destroy()
						// Only the goroutine whose Destroy won gets here.
						c.m.Destroy()
						if c.ss != nil && !c.sibling {
							c.ss.Destroy()
						}
						cos[i].CompareAndSwap(c, newCo(i))
					case rng.IntN(4) == 0: // Stack
						if b := cos[rng.IntN(len(cos))].Load().co.Stack(); len(b) == 0 {
							fail("Stack returned nothing")
						}
					default: // Reset
						cos[rng.IntN(len(cos))].Load().co.Reset(body, nil)
					}
				}()
				if rng.IntN(5000) == 0 {
					runtime.GC()
				}
			}
		}()
	}
	wg.Wait()
	if s := failed.Load(); s != nil {
		t.Fatal(*s)
	}
	for i := range iters {
		iters[i].Load().stop()
	}
	for i := range cos {
		c := cos[i].Load()
		if err := c.m.DestroyAll(); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("stress ok: %d goroutines, %d operations, %d of them panicked (engine %s)\n", nG, ops.Load(), panics.Load(), Engine())
}
