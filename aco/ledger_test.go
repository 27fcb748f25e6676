package aco

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The GC torture's ledger (torture_test.go): objects tracked with
// finalizers that record a failure if they run while a suspended co still
// holds them.

// ledgerMsgs bounds the failure messages a ledger keeps.
const ledgerMsgs = 30

// fail records a failure seen by a coroutine or a finalizer in the ledger
// of the test that made the object: a finalizer that runs after its test
// ended counts there, never in the next test's record.
func (l *ledger) fail(format string, args ...any) {
	l.failures.Add(1)
	l.mu.Lock()
	if len(l.msgs) < ledgerMsgs {
		l.msgs = append(l.msgs, l.test+": "+fmt.Sprintf(format, args...))
	}
	l.mu.Unlock()
}

// requireNoFailures stops the test if its ledger recorded any failure.
func (l *ledger) requireNoFailures(t testing.TB, when string) {
	t.Helper()
	if n := l.failures.Load(); n != 0 {
		l.mu.Lock()
		msgs := strings.Join(l.msgs, "\n\t")
		l.mu.Unlock()
		require.FailNowf(t, "torture failures", "%d failures %s; first ones:\n\t%s", n, when, msgs)
	}
}

// tracker follows one tracked heap object. held is true while some
// coroutine frame still holds the object: its finalizer must not run then.
type tracker struct {
	l         *ledger
	what      string // a constant: what kind of object
	co, k     int
	held      atomic.Bool
	finalized atomic.Bool
}

func (tr *tracker) release() { tr.held.Store(false) }

// ledger holds every tracker of one torture run (trackers never point to
// the objects they track) and the failures seen, in the run's own
// sentinels: a failure names the test and the object that failed.
type ledger struct {
	test     string
	mu       sync.Mutex
	all      []*tracker
	failures atomic.Int64
	msgs     []string
}

// newLedger returns the ledger of one run of test t.
func newLedger(t testing.TB) *ledger { return &ledger{test: t.Name()} }

// trackPtr sets a finalizer on p, which must point to the start of a heap
// allocation, and returns its tracker.
func trackPtr[T any](l *ledger, p *T, co, k int, what string) *tracker {
	tr := &tracker{l: l, what: what, co: co, k: k}
	tr.held.Store(true)
	runtime.SetFinalizer(p, func(*T) {
		tr.finalized.Store(true)
		if tr.held.Load() {
			tr.l.fail("co %d: object %d (%s) was finalized while a suspended coroutine held it", tr.co, tr.k, tr.what)
		}
	})
	l.mu.Lock()
	l.all = append(l.all, tr)
	l.mu.Unlock()
	return tr
}

// waitAllCollected runs the GC until every tracked object was finalized or
// a generous deadline passes; it returns the trackers not finalized.
func (l *ledger) waitAllCollected(d time.Duration) []*tracker {
	deadline := time.Now().Add(d)
	for {
		var left []*tracker
		l.mu.Lock()
		for _, tr := range l.all {
			if !tr.finalized.Load() {
				left = append(left, tr)
			}
		}
		l.mu.Unlock()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// stillHeld returns the trackers the coroutines never released.
func (l *ledger) stillHeld() []*tracker {
	l.mu.Lock()
	defer l.mu.Unlock()
	var held []*tracker
	for _, tr := range l.all {
		if tr.held.Load() {
			held = append(held, tr)
		}
	}
	return held
}
