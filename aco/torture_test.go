package aco

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// The GC liveness torture: many suspended coroutines hold objects that only
// their own frames reach, in every form a frame can hold a pointer. Every
// object has a finalizer that counts a failure if it runs while the object
// is still held; the coroutines check every object's contents on every
// resume, with heavy allocation and runtime.GC() between resumes. Failures
// are counted, never reported from inside a coroutine (t.FailNow would
// Goexit the co), and checked by the driver.

// tmagic is the value object k of coroutine co carries.
func tmagic(co, k int) uint64 {
	return (uint64(co)+1)*0x9E3779B97F4A7C15 ^ (uint64(k)+7)*0xC2B2AE3D27D4EB4F
}

// tobj is a tracked heap object. It has pointer fields, so it is never a
// tiny allocation (whose finalizers may not run).
type tobj struct {
	magic uint64
	co, k int
	tr    *tracker
	pad   [3]uint64
}

func (o *tobj) ok(co, k int) bool {
	if o == nil || o.magic != tmagic(co, k) || o.co != co || o.k != k {
		return false
	}
	for i, v := range o.pad {
		if v != tmagic(co, k)+uint64(i) {
			return false
		}
	}
	return true
}

func (o *tobj) String() string { return fmt.Sprintf("tobj(%d,%d)", o.co, o.k) }

// tortureCo is the state a torture coroutine shares with the driver.
type tortureCo struct {
	idx    int
	l      *ledger
	rounds int // yields of the main loop
	depth  int // recursion depth of the nested variant
	gcIn   int // the co calls runtime.GC() itself after resume r if (idx+r)%gcIn == 0
	trs    []*tracker
	total  int   // resumes to run to the end
	checks int   // verifications done by the co
	order  []int // keys of the deferred checks, in the order they ran
}

// obj allocates tracked object k.
func (tc *tortureCo) obj(k int, what string) *tobj {
	o := &tobj{magic: tmagic(tc.idx, k), co: tc.idx, k: k}
	for i := range o.pad {
		o.pad[i] = tmagic(tc.idx, k) + uint64(i)
	}
	o.tr = trackPtr(tc.l, o, tc.idx, k, what)
	tc.trs = append(tc.trs, o.tr)
	return o
}

// slice allocates a tracked []uint64 (the finalizer is on its array).
func (tc *tortureCo) slice(k int) []uint64 {
	s := make([]uint64, 40)
	for i := range s {
		s[i] = tmagic(tc.idx, k) + uint64(i)
	}
	tc.trs = append(tc.trs, trackPtr(tc.l, &s[0], tc.idx, k, "slice"))
	return s
}

func (tc *tortureCo) sliceOK(s []uint64, k, from int) bool {
	for i, v := range s {
		if v != tmagic(tc.idx, k)+uint64(from+i) {
			return false
		}
	}
	return true
}

// wantStr is the contents of tracked string k.
func (tc *tortureCo) wantStr(k int) string {
	return fmt.Sprintf("torture co %06d string %03d %x", tc.idx, k, tmagic(tc.idx, k))
}

// str builds tracked string k at run time (the finalizer is on its bytes).
func (tc *tortureCo) str(k int) string {
	s := string([]byte(tc.wantStr(k)))
	tc.trs = append(tc.trs, trackPtr(tc.l, unsafe.StringData(s), tc.idx, k, "string"))
	return s
}

// check counts a failure unless ok. Not inlined: its call of fail
// would add a stack object (the variadic array) to the caller's frame.
//
//go:noinline
func (tc *tortureCo) check(ok bool, what string, r int) {
	if !ok {
		tc.l.fail("co %d: %s is wrong after resume %d", tc.idx, what, r)
	}
}

// checkN is check with two numbers for what, formatted only on failure.
//
//go:noinline
func (tc *tortureCo) checkN(ok bool, what string, a, b, r int) {
	if !ok {
		tc.check(ok, fmt.Sprintf(what, a, b), r)
	}
}

// releaseAll marks every object the co allocated so far as no longer held.
// Deferred by the frames that hold them, so Destroy's unwinding releases
// them too; on a normal end the frame calls it while its objects are live.
func (tc *tortureCo) releaseAll() {
	for _, tr := range tc.trs {
		tr.release()
	}
}

// deferCheck is what the deferred calls of a torture co run: it checks the
// object the deferred call captured and releases it.
func (tc *tortureCo) deferCheck(o *tobj, k int) {
	tc.checkN(o.ok(tc.idx, k), "object %d captured by a deferred call%.0d", k, 0, -1)
	tc.order = append(tc.order, k)
	o.tr.release()
	runtime.KeepAlive(o)
}

// makeTortureMap returns a heap map holding tracked objects and strings.
//
//go:noinline
func makeTortureMap(tc *tortureCo) map[string]*tobj {
	m := make(map[string]*tobj)
	for k := 30; k < 40; k++ {
		m[tc.wantStr(k)] = tc.obj(k, "heap map value")
	}
	return m
}

func tortureMapOK(tc *tortureCo, m map[string]*tobj) bool {
	if len(m) != 10 {
		return false
	}
	for k := 30; k < 40; k++ {
		if !m[tc.wantStr(k)].ok(tc.idx, k) {
			return false
		}
	}
	return true
}

// tortureRec is an address-taken struct with pointer fields: a stack object.
type tortureRec struct {
	a, b *tobj
	s    []uint64
	name string
	n    uint64
}

//go:noinline
func checkTortureRec(rec *tortureRec, tc *tortureCo, r int) {
	tc.check(rec.a.ok(tc.idx, 13) && rec.b.ok(tc.idx, 14), "address-taken struct's objects", r)
	tc.check(tc.sliceOK(rec.s, 15, 0), "address-taken struct's slice", r)
	tc.check(rec.name == tc.wantStr(16), "address-taken struct's string", r)
	tc.check(rec.n == tmagic(tc.idx, 17), "address-taken struct's scalar", r)
}

//go:noinline
func makeTortureClosure(o *tobj) func() uint64 {
	return func() uint64 { return o.magic ^ o.pad[2] }
}

// tortureMain is the flat torture coroutine: pending defers of the three
// kinds in three frames, then tortureFrame's locals of every kind.
func tortureMain(co *Co) {
	tc := co.Arg().(*tortureCo)
	d := tc.obj(100, "captured by an open-coded defer")
	defer func() { tc.deferCheck(d, 100) }()
	tortureHeapDefers(co, tc)
}

// tortureHeapDefers has defers in a loop: heap-allocated defer records.
//
//go:noinline
func tortureHeapDefers(co *Co, tc *tortureCo) {
	for k := 110; k < 113; k++ {
		o := tc.obj(k, "captured by a heap defer")
		defer tc.deferCheck(o, k)
	}
	tortureStackDefers(co, tc)
}

// tortureStackDefers has nine defers, too many to open-code: they are
// stack-allocated defer records.
//
//go:noinline
func tortureStackDefers(co *Co, tc *tortureCo) {
	o0, o1, o2 := tc.obj(120, "stack defer"), tc.obj(121, "stack defer"), tc.obj(122, "stack defer")
	o3, o4, o5 := tc.obj(123, "stack defer"), tc.obj(124, "stack defer"), tc.obj(125, "stack defer")
	o6, o7, o8 := tc.obj(126, "stack defer"), tc.obj(127, "stack defer"), tc.obj(128, "stack defer")
	defer tc.deferCheck(o0, 120)
	defer tc.deferCheck(o1, 121)
	defer tc.deferCheck(o2, 122)
	defer tc.deferCheck(o3, 123)
	defer tc.deferCheck(o4, 124)
	defer tc.deferCheck(o5, 125)
	defer tc.deferCheck(o6, 126)
	defer tc.deferCheck(o7, 127)
	defer tc.deferCheck(o8, 128)
	tortureFrame(co, tc)
}

// tortureDeferOrder is the order tortureMain's deferred checks run in.
var tortureDeferOrder = []int{128, 127, 126, 125, 124, 123, 122, 121, 120, 112, 111, 110, 100}

// tortureFrame holds objects in every kind of local and yields tc.rounds
// times, checking all of them after every resume.
//
//go:noinline
func tortureFrame(co *Co, tc *tortureCo) {
	i := tc.idx
	defer tc.releaseAll() // for Destroy's unwinding
	p := tc.obj(1, "pointer local")
	q := tc.obj(2, "pointer local")
	captured := tc.obj(3, "captured by a closure")
	clo := func() uint64 { return captured.magic + captured.pad[1] }
	heapClo := makeTortureClosure(tc.obj(4, "captured by a heap closure"))
	var iface any = tc.obj(5, "interface")
	var stringer fmt.Stringer = tc.obj(6, "fmt.Stringer")
	wantStringer := fmt.Sprintf("tobj(%d,%d)", i, 6)
	sl := tc.slice(7)
	inner := tc.slice(8)[3:11] // only an interior pointer is held
	m := map[int]*tobj{9: tc.obj(9, "map value"), 10: tc.obj(10, "map value")}
	hm := makeTortureMap(tc) // a map on the heap
	s := tc.str(11)
	sub := tc.str(12)[5:25] // only an interior pointer is held
	var rec tortureRec
	rec.a, rec.b = tc.obj(13, "address-taken struct field"), tc.obj(14, "address-taken struct field")
	rec.s = tc.slice(15)
	rec.name = tc.str(16)
	rec.n = tmagic(i, 17)
	checkTortureRec(&rec, tc, 0)
	var arr [6]*tobj
	for k := range arr {
		arr[k] = tc.obj(20+k, "array element")
	}
	for r := 1; r <= tc.rounds; r++ {
		co.Yield()
		tc.checks++
		tc.check(p.ok(i, 1) && q.ok(i, 2), "pointer locals", r)
		tc.check(clo() == tmagic(i, 3)+tmagic(i, 3)+1, "closure capture", r)
		tc.check(heapClo() == tmagic(i, 4)^(tmagic(i, 4)+2), "heap closure capture", r)
		o, _ := iface.(*tobj)
		tc.check(o.ok(i, 5), "interface value", r)
		tc.check(stringer.String() == wantStringer, "fmt.Stringer value", r)
		tc.check(tc.sliceOK(sl, 7, 0) && tc.sliceOK(inner, 8, 3), "slices", r)
		tc.check(len(m) == 2 && m[9].ok(i, 9) && m[10].ok(i, 10), "map", r)
		tc.check(tortureMapOK(tc, hm), "heap map", r)
		tc.check(s == tc.wantStr(11) && sub == tc.wantStr(12)[5:25], "strings", r)
		checkTortureRec(&rec, tc, r)
		for k, o := range arr {
			tc.check(o.ok(i, 20+k), "array element", r)
		}
		if tc.gcIn > 0 && (i+r)%tc.gcIn == 0 {
			runtime.GC() // with the co's frames restored on the stack
			tc.check(p.ok(i, 1) && rec.a.ok(i, 13) && arr[5].ok(i, 25), "objects after a GC inside the co", r)
		}
	}
	tc.releaseAll()
	runtime.KeepAlive(p)
	runtime.KeepAlive(q)
	runtime.KeepAlive(clo)
	runtime.KeepAlive(heapClo)
	runtime.KeepAlive(iface)
	runtime.KeepAlive(stringer)
	runtime.KeepAlive(sl)
	runtime.KeepAlive(inner)
	runtime.KeepAlive(m)
	runtime.KeepAlive(hm)
	runtime.KeepAlive(s)
	runtime.KeepAlive(sub)
	runtime.KeepAlive(&rec)
	for _, o := range arr {
		runtime.KeepAlive(o)
	}
}

// torturePlain holds objects only in plain pointer slots: no address-taken
// locals and no defers, the copy-stack engine's fast capture path.
func torturePlain(co *Co) {
	tc := co.Arg().(*tortureCo)
	i := tc.idx
	p := tc.obj(1, "pointer local")
	heapClo := makeTortureClosure(tc.obj(4, "captured by a heap closure"))
	var iface any = tc.obj(5, "interface")
	sl := tc.slice(7)
	inner := tc.slice(8)[3:11]
	hm := makeTortureMap(tc)
	s := tc.str(11)
	sub := tc.str(12)[5:25]
	var arr [6]*tobj
	for k := range arr {
		arr[k] = tc.obj(20+k, "array element")
	}
	for r := 1; r <= tc.rounds; r++ {
		co.Yield()
		tc.checks++
		tc.check(p.ok(i, 1), "pointer local", r)
		tc.check(heapClo() == tmagic(i, 4)^(tmagic(i, 4)+2), "heap closure capture", r)
		o, _ := iface.(*tobj)
		tc.check(o.ok(i, 5), "interface value", r)
		tc.check(tc.sliceOK(sl, 7, 0) && tc.sliceOK(inner, 8, 3), "slices", r)
		tc.check(tortureMapOK(tc, hm), "heap map", r)
		tc.check(s == tc.wantStr(11) && sub == tc.wantStr(12)[5:25], "strings", r)
		for k := range arr {
			tc.check(arr[k].ok(i, 20+k), "array element", r)
		}
		if tc.gcIn > 0 && (i+r)%tc.gcIn == 0 {
			runtime.GC()
			tc.check(p.ok(i, 1) && arr[5].ok(i, 25), "objects after a GC inside the co", r)
		}
	}
	tc.releaseAll()
	// Uses by value, not runtime.KeepAlive, whose conversion to any would
	// make stack objects of the strings and slices.
	useTobj(p)
	useFunc(heapClo)
	useAny(iface)
	useU64s(sl)
	useU64s(inner)
	useTortureMap(hm)
	useStr(s)
	useStr(sub)
	for k := range arr {
		useTobj(arr[k])
	}
}

//go:noinline
func useTobj(*tobj) {}

//go:noinline
func useFunc(func() uint64) {}

//go:noinline
func useAny(any) {}

//go:noinline
func useU64s([]uint64) {}

//go:noinline
func useTortureMap(map[string]*tobj) {}

//go:noinline
func useStr(string) {}

// tortureConfig sizes a torture run.
type tortureConfig struct {
	n       int // coroutines
	rounds  int
	depth   func(i int) int // nested variant only: recursion depth of co i
	gcEvery int             // runtime.GC() every gcEvery resumes
	gcIn    int             // see tortureCo.gcIn
	churn   int             // bytes of garbage per resume
	churnGC int             // bytes of garbage per pass, before the pass's GCs
	defers  bool            // the body is tortureMain, with its deferred checks
}

func defaultTortureConfig(nested bool) tortureConfig {
	c := tortureConfig{n: 2000, rounds: 6, gcEvery: 500, gcIn: 97, churn: 2048, churnGC: 4 << 20, defers: !nested}
	if nested {
		c.n, c.rounds, c.gcIn = 300, 4, 23
	}
	if testing.Short() {
		c.n /= 10
	}
	return c
}

// runTorture drives a torture run on e: the coroutines are resumed in a
// random order at random depths, with garbage and GCs between resumes; even
// ones run to their end, odd ones are destroyed while suspended.
func runTorture(t *testing.T, e *env, cfg tortureConfig, body Func, nested bool) {
	l := newLedger(t)
	tcs := make([]*tortureCo, cfg.n)
	cos := make([]*Co, cfg.n)
	for i := range tcs {
		tc := &tortureCo{idx: i, l: l, rounds: cfg.rounds, gcIn: cfg.gcIn}
		tc.total = cfg.rounds + 1
		if nested {
			tc.depth = cfg.depth(i)
			tc.total = cfg.rounds + tc.depth + 2
		}
		tcs[i], cos[i] = tc, e.create(body, tc)
	}
	destroyAt := func(i int) int {
		if i%2 == 0 {
			return -1 // run to the end
		}
		if nested && i%4 == 3 {
			return cfg.rounds + 1 + i%(tcs[i].depth+1) // on the way back up
		}
		return tcs[i].total - 1 // suspended at the last yield
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.n), 42))
	resumes := make([]int, cfg.n)
	active := cfg.n
	nres := 0
	for pass := 0; active > 0; pass++ {
		for _, i := range rng.Perm(cfg.n) {
			co := cos[i]
			if co.IsEnd() {
				continue
			}
			if resumes[i] == destroyAt(i) {
				if !cfg.defers && !nested {
					// No deferred call releases them: the objects stay
					// held until Destroy, which drops them.
					tcs[i].releaseAll()
				}
				co.Destroy()
				active--
				continue
			}
			resumeAt(co, rng.IntN(4))
			resumes[i]++
			nres++
			if co.IsEnd() {
				co.Destroy()
				active--
			}
			churn(cfg.churn)
			if nres%cfg.gcEvery == 0 {
				runtime.GC()
			}
		}
		churn(cfg.churnGC)
		runtime.GC()
		runtime.GC()
		l.requireNoFailures(t, fmt.Sprintf("after pass %d", pass))
	}
	for i, tc := range tcs {
		require.Equal(t, max(resumes[i]-1, 0), tc.checks, "co %d verified its objects on every resume", i)
		var want []int
		switch {
		case nested:
			want = nestDeferOrder(tc.depth)
		case cfg.defers:
			want = tortureDeferOrder
		}
		require.Equal(t, want, tc.order, "co %d: deferred checks ran once each, in order", i)
		if i%2 == 0 {
			require.Equal(t, tc.total, resumes[i], "co %d ran to its end", i)
		}
	}
	held := l.stillHeld()
	require.Empty(t, held, "every object was released by its coroutine")
	// Nothing refers to the coroutines' objects any more.
	clear(tcs)
	left := l.waitAllCollected(20 * time.Second)
	if len(left) > 0 {
		require.Failf(t, "objects not collected", "%d of %d objects were not collected after their coroutines ended; first: co %d object %d (%s)",
			len(left), len(l.all), left[0].co, left[0].k, left[0].what)
	}
	l.requireNoFailures(t, "at the end")
	runtime.KeepAlive(cos)
}

func TestTortureGCLiveness(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		runTorture(t, e, defaultTortureConfig(false), tortureMain, false)
	})
}

func TestTortureGCLivenessPlain(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		cfg := defaultTortureConfig(false)
		cfg.n /= 2
		cfg.defers = false
		runTorture(t, e, cfg, torturePlain, false)
	})
}

func TestTortureGCLivenessNested(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		cfg := defaultTortureConfig(true)
		cfg.depth = func(i int) int { return 10 + i%41 }
		runTorture(t, e, cfg, nestBody, true)
	})
}
