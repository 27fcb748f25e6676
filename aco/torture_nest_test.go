package aco

import (
	"fmt"
	"runtime"
)

// The nested GC torture (torture_test.go): cos resuming cos at depth, each
// level holding objects only its frames reach.

// nestRec is one level's record in the nested variant. It lives in the
// level's frame; deeper levels reach it through parent, a pointer into an
// outer frame.
type nestRec struct {
	parent *nestRec
	obj    *tobj
	vals   []uint64
	name   string
	own    *[4]uint64 // a local array of the same frame
	depth  int
}

// nestBody is the nested torture coroutine: tc.depth levels of recursion,
// each with its own objects; the deepest level yields tc.rounds times and
// every level yields once more on the way back.
func nestBody(co *Co) {
	tc := co.Arg().(*tortureCo)
	nestLevel(co, tc, 0, nil)
}

//go:noinline
func nestLevel(co *Co, tc *tortureCo, d int, parent *nestRec) {
	i := tc.idx
	mine := len(tc.trs) // this level's trackers are tc.trs[mine:]
	dobj := tc.obj(3000+d, "captured by a nested defer")
	defer tc.deferCheck(dobj, 3000+d)
	defer func() { // for Destroy's unwinding
		for _, tr := range tc.trs[mine:] {
			tr.release()
		}
	}()
	var own [4]uint64
	for k := range own {
		own[k] = tmagic(i, 4000+d) + uint64(k)
	}
	rec := nestRec{parent: parent, obj: tc.obj(1000+d, "nested level object"), vals: tc.slice(2000 + d), name: tc.str(5000 + d), own: &own, depth: d}
	local := tc.obj(6000+d, "nested pointer local")
	verify := func(r int) { nestVerify(tc, &rec, local, d, r) }
	if d < tc.depth {
		nestLevel(co, tc, d+1, &rec)
		verify(-1)
	} else {
		for r := 1; r <= tc.rounds; r++ {
			co.Yield()
			tc.checks++
			verify(r)
			if tc.gcIn > 0 && (i+r)%tc.gcIn == 0 {
				runtime.GC()
				verify(r)
			}
		}
	}
	co.Yield()
	tc.checks++
	verify(tc.rounds + 1)
	for _, tr := range tc.trs[mine:] {
		if tr != dobj.tr {
			tr.release()
		}
	}
	runtime.KeepAlive(local)
	runtime.KeepAlive(&rec)
	runtime.KeepAlive(&own)
}

// nestVerify checks the records of level d and of every level above it,
// reached through the parent pointers (pointers into other frames).
//
//go:noinline
func nestVerify(tc *tortureCo, rec *nestRec, local *tobj, d, r int) {
	i := tc.idx
	tc.checkN(local.ok(i, 6000+d), "level %d pointer local%.0d", d, 0, r)
	n := 0
	for x := rec; x != nil; x = x.parent {
		n++
		ok := x.depth == d+1-n && x.obj.ok(i, 1000+x.depth) && tc.sliceOK(x.vals, 2000+x.depth, 0) && x.name == tc.wantStr(5000+x.depth)
		for k, v := range x.own {
			ok = ok && v == tmagic(i, 4000+x.depth)+uint64(k)
		}
		tc.checkN(ok, "level %d record seen from level %d", x.depth, d, r)
	}
	tc.checkN(n == d+1, "level %d parent chain length%.0d", d, 0, r)
}

// nestDeferOrder is the order of a nested co's deferred checks.
func nestDeferOrder(depth int) []int {
	var want []int
	for d := depth; d >= 0; d-- {
		want = append(want, 3000+d)
	}
	return want
}

// churn allocates about n bytes of garbage.
func churn(n int) int {
	var keep [][]byte
	sum := 0
	for n > 0 {
		b := make([]byte, 1024+n%3000)
		b[len(b)-1] = byte(n)
		sum += int(b[len(b)-1])
		keep = append(keep, b)
		if len(keep) > 64 {
			keep = keep[:0]
		}
		n -= len(b)
	}
	return sum
}

// resumeAt resumes co depth frames below the caller. Its frames carry
// canaries that an image copied in at the wrong place would overwrite.
//
//go:noinline
func resumeAt(co *Co, depth int) {
	var pad [200]byte
	for k := range pad {
		pad[k] = byte(depth + k)
	}
	if depth > 0 {
		resumeAt(co, depth-1)
	} else {
		co.Resume()
	}
	for k := range pad {
		if pad[k] != byte(depth+k) {
			panic(fmt.Sprintf("aco test: resumer frame at depth %d corrupted across Resume", depth))
		}
	}
}
