//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"runtime"
	"strconv"
	"strings"
	"unsafe"
)

// selfTestWith checks, at init (runSelfTest), that the runtime layout table
// fits the running runtime: it runs the runtime assumptions' checks
// (rtassume.go) through the offsets o on known shapes and returns "" or
// the first row that failed and why. initLocks is the m.lockedInt expected:
// package initialization runs with the main thread locked, 1.
func selfTestWith(o *rtOffsets, initLocks uint32) (failed string) {
	if !strings.HasPrefix(runtime.Version(), rtRelease+".") && runtime.Version() != rtRelease {
		return "runtime " + runtime.Version() + " is not " + rtRelease
	}
	defer func() {
		if r := recover(); r != nil {
			failed = "panic: " + toString(r)
		}
	}()
	copyStackOn = true // the last row runs a copy-stack co
	defer func() {
		if failed != "" {
			copyStackOn = false
		}
	}()
	learnSwitchAddrs()
	if row, f := runAssumptions(o, initLocks); row != "" {
		return "runtime assumption " + row + ": " + f
	}
	return ""
}

// selfTestObj is what the self-test co holds in its frames.
type selfTestObj struct{ v [4]uintptr }

// selfTestCo runs a co that yields with a pointer in a local, a pointer to
// its own stack and a pending defer, is resumed at two depths, and must find
// all of them intact, its roots recorded and its defer run once.
func selfTestCo() string {
	main, ss := NewMain(), NewShareStack(0)
	var ran int
	var root bool
	var ok bool
	obj := &selfTestObj{v: [4]uintptr{1, 2, 3, 4}}
	co := Create(main, ss, 0, func(co *Co) {
		selfTestFrame(co, &ran, &root, &ok)
	}, obj)
	co.Resume()
	selfTestResumeAt(co, 3)
	co.Destroy()
	ss.Destroy()
	main.Destroy()
	switch {
	case !root:
		return "stack maps: a live pointer was not found at a yield"
	case !ok:
		return "relocation: frame contents changed across a resume"
	case ran != 1:
		return "defer records: a deferred call pending across a yield ran " + strconv.Itoa(ran) + " times"
	}
	return ""
}

//go:noinline
func selfTestFrame(co *Co, ran *int, root, ok *bool) {
	defer func() { *ran++ }()
	for i := 0; i < 9; i++ {
		defer func() {}() // more than 8 defers: a defer record, not open-coded
	}
	p := selfTestNew() // a heap object only this frame holds
	arr := [3]uintptr{9, 10, 11}
	q := &arr[1] // a pointer into this frame, which relocation must move
	selfTestEscape(q)
	co.Yield()
	for _, r := range co.roots.slice() {
		*root = *root || r == unsafe.Pointer(p)
	}
	*ok = p.v == [4]uintptr{5, 6, 7, 8} && *q == 10 && &arr[1] == q
}

//go:noinline
func selfTestEscape(*uintptr) {}

//go:noinline
func selfTestNew() *selfTestObj { return &selfTestObj{v: [4]uintptr{5, 6, 7, 8}} }

//go:noinline
func selfTestResumeAt(co *Co, depth int) {
	var pad [64]byte
	pad[depth] = 1
	if depth > 0 {
		selfTestResumeAt(co, depth-1)
	} else {
		co.Resume()
	}
	sink(pad[:])
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case error:
		return v.Error()
	}
	return "non-string panic"
}
