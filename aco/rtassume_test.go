//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRuntimeAssumptionsFailByName breaks each offset the runtime
// assumptions read, one at a time (pointing it at a neighbouring field,
// as a layout change between releases would), and runs the self-test as
// init does: the engine must fall back to the portable one, with a note
// naming the row that owns the offset. The table as generated passes
// before and after.
func TestRuntimeAssumptionsFailByName(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	// Under an OS thread lock, so that m.lockedExt is not 0 (a broken
	// m.lockedInt read from it differs from the test goroutine's 0).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The generated table again at the end, from a goroutine of its own:
	// run by a failed require, during runtime.Goexit, the self-test would
	// see Goexit's panic record in g._panic and turn the engine off for
	// every test after this one.
	defer func() {
		done := make(chan struct{})
		go func() { runSelfTest(&rtLayout, 0); close(done) }()
		<-done
	}()

	l := rtLayout
	breaks := []struct {
		field string
		row   string
		set   func(o *rtOffsets)
	}{
		{"g.stack", "g.stack", func(o *rtOffsets) { o.gStack += ptrSize }},
		{"stack.lo", "g.stack", func(o *rtOffsets) { o.stackLo = l.stackHi }},
		{"stack.hi", "g.stack", func(o *rtOffsets) { o.stackHi += ptrSize }},
		{"g.m", "m.lockedExt", func(o *rtOffsets) { o.gM = l.gStack + l.stackLo }},
		{"m.lockedExt", "m.lockedExt", func(o *rtOffsets) { o.mLockedExt += ptrSize }},
		{"m.lockedInt", "m.lockedInt", func(o *rtOffsets) { o.mLockedInt = l.mLockedExt }},
		{"g._panic", "g._panic", func(o *rtOffsets) { o.gPanic = l.gDefer }},
		{"_panic.link", "g._panic", func(o *rtOffsets) { o.panicLink += ptrSize }},
		{"g._defer", "g._defer", func(o *rtOffsets) { o.gDefer = l.gPanic }},
		{"_defer.heap", "g._defer", func(o *rtOffsets) { o.deferHeap = l.deferRangefunc }},
		{"_defer.sp", "g._defer", func(o *rtOffsets) { o.deferSp += ptrSize }},
		{"_defer.pc", "g._defer", func(o *rtOffsets) { o.deferPc += ptrSize }},
		{"_defer.fn", "g._defer", func(o *rtOffsets) { o.deferFn += ptrSize }},
		{"_defer.link", "g._defer", func(o *rtOffsets) { o.deferLink += ptrSize }},
		{"_defer.rangefunc", "_defer.rangefunc", func(o *rtOffsets) { o.deferRangefunc = l.deferRangefunc + 1 }},
		{"_defer.head", "_defer.rangefunc", func(o *rtOffsets) { o.deferHead = l.deferLink }},
		{"_func.funcID", "_func", func(o *rtOffsets) { o.funcFuncID++ }},
		// A word off, and a byte below. Not a byte above: the compiler
		// keeps a copy of deferBits in the byte after it here (amd64 and
		// 386, Go 1.26 and 1.27), so reading that one is right by accident.
		{"deferBits", "open-coded defers", func(o *rtOffsets) { o.openDeferSkew = int32(ptrSize) }},
		{"deferBits", "open-coded defers", func(o *rtOffsets) { o.openDeferSkew = -1 }},
	}
	names := map[string]bool{}
	for _, r := range rtRows {
		names[r.name] = true
	}
	runSelfTest(&rtLayout, 0)
	require.Equal(t, CopyStack, Engine(), "the generated table passes: %s", EngineNote())
	broken := map[string]bool{}
	for _, b := range breaks {
		require.True(t, names[b.row], "%s: no row %s", b.field, b.row)
		if b.field == "deferBits" && !openDeferFrameOpenCoded() {
			broken[b.row] = true // a build without optimizations has no open-coded defers to read
			continue
		}
		o := rtLayout
		b.set(&o)
		runSelfTest(&o, 0)
		engine, note := Engine(), EngineNote()
		runSelfTest(&rtLayout, 0) // before any check can stop the test
		assert.Equal(t, Portable, engine, "a wrong %s offset passed the self-test", b.field)
		assert.True(t, strings.HasPrefix(note, "self-test failed: runtime assumption "+b.row+": "),
			"a wrong %s offset: the note names row %s: %s", b.field, b.row, note)
		broken[b.row] = true
		require.Equal(t, CopyStack, Engine(), "after %s: %s", b.field, EngineNote())
	}
	for _, r := range rtRows {
		if r.name != "copy-stack co" { // it reads no offset of its own
			require.True(t, broken[r.name], "no break tests row %s", r.name)
		}
	}
}
