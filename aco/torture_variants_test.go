package aco

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Variants of the GC torture (torture_test.go): in a child process, with
// roots shared between cos, on many goroutines at once; and the engine's
// self-test.

// tortureChildEnv names the environment variable that makes
// TestTortureSubprocess run the torture itself (in the child).
const tortureChildEnv = "ACO_TEST_TORTURE_CHILD"

// TestTortureSubprocess runs the torture in a child process with GOGC=1
// (a GC cycle almost all the time) and GODEBUG=clobberfree=1 (freed memory
// is overwritten, so a missed root shows as wrong contents or a crash).
func TestTortureSubprocess(t *testing.T) {
	if os.Getenv(tortureChildEnv) == "1" {
		tortureChild(t)
		return
	}
	if testing.Short() {
		t.Skip("heavy subprocess test")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := childCommand(ctx, exe, "-test.run=^TestTortureSubprocess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), tortureChildEnv+"=1", "GOGC=1", "GODEBUG=clobberfree=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("child ran %v (engine %s)", time.Since(start).Round(time.Millisecond), Engine())
	if err != nil || !strings.Contains(string(out), "--- PASS: TestTortureSubprocess") {
		t.Fatalf("child failed: %v\n%s", err, failure(string(out)))
	}
}

// tortureChild is the torture sized for GOGC=1 on a small machine.
func tortureChild(t *testing.T) {
	t.Logf("GOGC=%s GODEBUG=%s engine %s", os.Getenv("GOGC"), os.Getenv("GODEBUG"), Engine())
	forKinds(t, func(t *testing.T, e *env) {
		t.Run("flat", func(t *testing.T) {
			cfg := tortureConfig{n: 2000, rounds: 6, gcEvery: 400, gcIn: 61, churn: 512, churnGC: 1 << 20, defers: true}
			runTorture(t, e, cfg, tortureMain, false)
		})
		t.Run("plain", func(t *testing.T) {
			cfg := tortureConfig{n: 1000, rounds: 5, gcEvery: 400, gcIn: 61, churn: 512, churnGC: 1 << 20}
			runTorture(t, e, cfg, torturePlain, false)
		})
		t.Run("nested", func(t *testing.T) {
			cfg := tortureConfig{n: 300, rounds: 4, gcEvery: 400, gcIn: 7, churn: 512, churnGC: 1 << 20}
			cfg.depth = func(i int) int { return 10 + (i*7)%41 }
			runTorture(t, e, cfg, nestBody, true)
		})
	})
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// failure is a child test binary's output for a failure message: where it
// first failed (a crash's first lines say why; the goroutine dump after
// them, which tail would show, rarely does), then its end.
func failure(s string) string {
	first := len(s)
	for _, mark := range []string{"\n--- FAIL", "\npanic: ", "\nfatal error: ", "\nunexpected fault", "\nSIG"} {
		if i := strings.Index(s, mark); i >= 0 {
			first = min(first, i)
		}
	}
	if first == len(s) || len(s) <= 10000 {
		return tail(s, 10000)
	}
	head := s[first:min(len(s), first+4000)]
	return "...\n" + head + "\n...\n" + tail(s[first+len(head):], 4000)
}

// TestTortureSharedRoots checks a detail of the root slice: many coroutines
// that yield with the same frame layout (the same learned chain) each keep
// their own objects, even when the number of live pointers differs between
// their yields (nil pointers are not roots).
func TestTortureSharedRoots(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		l := newLedger(t)
		const n = 200
		cos := make([]*Co, n)
		for i := range cos {
			tc := &tortureCo{idx: i, l: l}
			cos[i] = e.create(func(co *Co) {
				var ps [8]*tobj
				for step := 0; step < 8; step++ {
					// A different number of non-nil pointers at each yield.
					for k := range ps {
						if (k+step+tc.idx)%3 == 0 {
							if ps[k] != nil {
								ps[k].tr.release()
							}
							ps[k] = nil
						} else if ps[k] == nil {
							ps[k] = tc.obj(100*step+k, "array element")
						}
					}
					co.Yield()
					for _, p := range ps {
						if p != nil {
							tc.check(p.ok(tc.idx, p.k), "array element", step)
						}
					}
				}
				for _, p := range ps {
					if p != nil {
						p.tr.release()
					}
				}
				for _, p := range ps {
					runtime.KeepAlive(p)
				}
			}, nil)
		}
		for step := 0; step < 9; step++ {
			for _, i := range rand.Perm(n) {
				cos[i].Resume()
			}
			churn(1 << 20)
			runtime.GC()
			l.requireNoFailures(t, fmt.Sprintf("after step %d", step))
		}
		for _, co := range cos {
			require.True(t, co.IsEnd())
			co.Destroy()
		}
		assert.Empty(t, l.stillHeld())
		left := l.waitAllCollected(20 * time.Second)
		assert.Empty(t, left, "objects not collected after their coroutines ended")
		l.requireNoFailures(t, "at the end")
	})
}

// TestTortureConcurrentGoroutines runs the torture with several goroutines
// resuming coroutines at once: every co is taken from a shared queue by
// whichever goroutine is free, so it moves between goroutines (and between
// their stacks) from one resume to the next. Each co has a share stack of
// its own, so any two may run at the same time.
func TestTortureConcurrentGoroutines(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		n, rounds, workers := 600, 5, 4
		if testing.Short() {
			n = 100
		}
		l := newLedger(t)
		type item struct {
			co      *Co
			tc      *tortureCo
			ss      *ShareStack
			resumes int
		}
		items := make([]*item, n)
		queue := make(chan *item, n)
		for i := range items {
			it := &item{tc: &tortureCo{idx: i, l: l, rounds: rounds, gcIn: 53, total: rounds + 1}}
			if e.ss != nil {
				it.ss = NewShareStack(0)
			}
			it.co = Create(e.main, it.ss, 0, tortureMain, it.tc)
			items[i] = it
			queue <- it
		}
		// A main co's bookkeeping belongs to one goroutine at a time.
		var mainMu sync.Mutex
		destroy := func(co *Co) {
			mainMu.Lock()
			defer mainMu.Unlock()
			co.Destroy()
		}
		var left sync.WaitGroup
		left.Add(n)
		var wg sync.WaitGroup
		var panics atomic.Int64
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 99))
				if w%2 == 1 {
					deepFill(200+w*100, 1) // a grown stack
				}
				for it := range queue {
					if msg := catch(func() {
						if it.tc.idx%2 == 1 && it.resumes == rounds {
							destroy(it.co)
							return
						}
						resumeAt(it.co, rng.IntN(5))
						it.resumes++
						if it.co.IsEnd() {
							destroy(it.co)
						}
					}); msg != "" {
						l.fail("co %d: resume %d panicked: %s", it.tc.idx, it.resumes, msg)
						panics.Add(1)
						left.Done()
						continue
					}
					churn(1024)
					if rng.IntN(200) == 0 {
						runtime.GC()
					}
					if it.co.IsEnd() {
						left.Done()
					} else {
						queue <- it
					}
				}
			}()
		}
		left.Wait()
		close(queue)
		wg.Wait()
		l.requireNoFailures(t, "after the run")
		for _, it := range items {
			require.Equal(t, max(it.resumes-1, 0), it.tc.checks, "co %d verified its objects on every resume", it.tc.idx)
			require.Equal(t, tortureDeferOrder, it.tc.order, "co %d: deferred checks ran once each, in order", it.tc.idx)
			if it.ss != nil {
				it.ss.Destroy()
			}
		}
		require.Empty(t, l.stillHeld(), "every object was released by its coroutine")
		clear(items)
		if rest := l.waitAllCollected(20 * time.Second); len(rest) > 0 {
			require.Failf(t, "objects not collected", "%d of %d objects were not collected", len(rest), len(l.all))
		}
		l.requireNoFailures(t, "at the end")
	})
}

// TestEngineSelfTest fails when the copy-stack engine exists for this
// platform but turned itself off because its start-up self-test failed:
// share-stack coroutines then silently run on the portable engine, and
// every other test here passes without testing the copy-stack engine.
func TestEngineSelfTest(t *testing.T) {
	note := EngineNote()
	t.Logf("engine %s %s", Engine(), note)
	assert.False(t, strings.HasPrefix(note, "self-test failed"), "the copy-stack engine failed its self-test: %s", note)
	if os.Getenv("ACO_ENGINE") == "" && strings.Contains(note, "ACO_ENGINE") {
		t.Errorf("engine note %q without ACO_ENGINE set", note)
	}
}
