package aco

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"
)

// Profilers and tracers while coroutines switch. Each test runs its workload
// in a child process (the test binary re-executed for that test, with
// ACO_PROFILE_CHILD naming a directory for its output files), so that a
// crash, a hang or a runtime error the runtime prints on stderr (a broken
// traceback in the profiler's signal handler, say) is seen by the parent,
// which then reads the files back: its own parse of the profiles' protobuf,
// and `go tool pprof -raw` / `go tool trace -d=parsed` when the go command is
// available.
//
// What the tools show for coroutines (checked where it is by design, logged
// otherwise):
//
//   - A running co on the copy-stack engine (share-stack or standalone) runs on its
//     resumer's goroutine: its frames appear in that goroutine's stack, below
//     aco.(*Co).Resume (and the trampoline) — in runtime.Stack, in the
//     goroutine profile and in CPU samples. It has no goroutine of its own.
//   - A suspended co on the copy-stack engine is bytes in its save stack: it appears in no
//     stack trace and no goroutine profile; its frames are invisible until
//     it is resumed. The CPU profile likewise attributes nothing to it.
//   - A co on the portable engine (a moved co; every co under -race) is a goroutine
//     of its own: while suspended it is listed as a goroutine in state
//     [coroutine], blocked in iter.Pull's yield (runtime.coroswitch under
//     aco.(*Co).switchPortable), created by iter.Pull; while running, its
//     frames are on that goroutine, not under the resumer's Resume (the
//     resumer is then the goroutine in state [coroutine], in Resume). The
//     execution trace shows every portable switch as a goroutine switch
//     (coroswitch); copy-stack switches are invisible to it (no goroutine
//     changes state).

const profChildEnv = "ACO_PROFILE_CHILD"

// profRuntimeErrors are stderr lines that mean the runtime found something
// wrong (a traceback it could not finish, a bad pointer, a crash).
var profRuntimeErrors = regexp.MustCompile(`(?m)^(fatal error|runtime: |panic: |SIGSEGV|unexpected fault|traceback|.*unexpected return pc|.*not unwind completely)`)

// profChild runs the calling test's child half and returns its output
// directory, or "" in the child itself (which then runs the workload).
func profChild(t *testing.T) string {
	if os.Getenv(profChildEnv) != "" {
		return ""
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := childCommand(ctx, os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), profChildEnv+"="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := stdout.String() + stderr.String()
	switch {
	case ctx.Err() != nil:
		t.Fatalf("the workload hung and was killed:\n%s", mcHead(out, 40))
	case err != nil || !strings.Contains(out, "--- PASS: "+t.Name()):
		t.Fatalf("the workload failed (%v):\n%s", err, mcHead(out, 60))
	}
	if m := profRuntimeErrors.FindAllString(stderr.String(), 5); m != nil {
		t.Errorf("the runtime reported errors during the workload: %q\n%s", m, mcHead(stderr.String(), 40))
	}
	for _, l := range strings.Split(stdout.String(), "\n") {
		if strings.Contains(l, "profile_test.go") {
			t.Log("child:" + strings.TrimPrefix(l, "   "))
		}
	}
	return dir
}

func profDir() string { return os.Getenv(profChildEnv) }

// profKinds are the two kinds of co with the number of round trips each
// does: millions on the copy-stack engine, fewer on the portable one.
func profKinds() []struct {
	name string
	ss   *ShareStack
	n    int
} {
	nSS := 2_000_000
	if Engine() != CopyStack {
		nSS = 200_000
	}
	return []struct {
		name string
		ss   *ShareStack
		n    int
	}{{"sharestack", NewShareStack(0), nSS}, {"standalone", nil, 200_000}}
}

// profBody is the coroutines' function: it yields from a few frames down,
// and calls hook (if set) now and then, between yields.
func profBody(hook func(co *Co, i int)) Func {
	return func(co *Co) {
		for i := 0; ; i++ {
			profFrames(co, i%3, i, hook)
		}
	}
}

//go:noinline
func profFrames(co *Co, d, i int, hook func(co *Co, i int)) {
	var pad [8]uint64
	pad[d] = uint64(i)
	if d > 0 {
		profFrames(co, d-1, i, hook)
	} else {
		if hook != nil && i%1024 == 0 {
			hook(co, i)
		}
		co.Yield()
	}
	if pad[d] != uint64(i) {
		panic("aco test: frame changed across a yield")
	}
}

// profAt calls f d frames deeper, so cos are resumed at varying depths (the
// copy-stack engine relocates their images).
//
//go:noinline
func profAt(d int, f func()) {
	var pad [16]uint64
	pad[d%16] = 1
	if d > 0 {
		profAt(d-1, f)
	} else {
		f()
	}
	if pad[d%16] != 1 {
		panic("aco test: frame changed")
	}
}

// profSwitch does n resume/yield round trips over ncos coroutines, round
// robin, then destroys them.
func profSwitch(main *Co, ss *ShareStack, ncos, n int, hook func(co *Co, i int)) {
	cos := make([]*Co, ncos)
	for i := range cos {
		cos[i] = Create(main, ss, 0, profBody(hook), nil)
	}
	for i := 0; i < n; i++ {
		co := cos[i%ncos]
		if i%4096 == 0 {
			profAt(i/4096%5, co.Resume)
		} else {
			co.Resume()
		}
	}
	for _, co := range cos {
		co.Destroy()
	}
}

// profGoTool runs `go tool args...` and returns its output, or "" with a log
// line if the go command is not available.
func profGoTool(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Logf("the go command is not available (%v): go tool %s not run", err, args[0])
		return "", false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, append([]string{"tool"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("go tool %s: %v\n%s", strings.Join(args, " "), err, mcHead(stderr.String()+stdout.String(), 30))
		return "", false
	}
	return stdout.String(), true
}

// TestProfileCPU profiles the CPU while share-stack and standalone coroutines
// switch millions of times (with GCs and resumes at varying depths), then
// reads the profile back.
func TestProfileCPU(t *testing.T) {
	if dir := profChild(t); dir != "" {
		path := filepath.Join(dir, "cpu.pprof")
		p := profParseFile(t, path)
		if !p.hasSampleType("cpu", "nanoseconds") {
			t.Errorf("the CPU profile has no cpu/nanoseconds sample type: %v", p.sampleTypeNames())
		}
		t.Logf("CPU profile: %d samples, %d locations, %d functions", len(p.samples), len(p.locations), len(p.functions))
		// Where samples landed in the coroutines' frames: on the
		// copy-stack engine, under Resume in the resumer's goroutine.
		under, alone := p.countStacks("aco.profFrames", "aco.(*Co).Resume")
		t.Logf("samples in co frames: %d with aco.(*Co).Resume below them (copy-stack), %d without (portable goroutines)", under, alone)
		if raw, ok := profGoTool(t, "pprof", "-raw", path); ok && !strings.Contains(raw, "Samples:") {
			t.Errorf("go tool pprof -raw printed no samples section:\n%s", mcHead(raw, 20))
		}
		return
	}
	f, err := os.Create(filepath.Join(profDir(), "cpu.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	main := NewMain()
	for _, k := range profKinds() {
		profSwitch(main, k.ss, 16, k.n, func(co *Co, i int) {
			if i%(64*1024) == 0 {
				runtime.GC()
			}
		})
		if k.ss != nil {
			k.ss.Destroy()
		}
	}
	main.Destroy()
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestProfileTrace records an execution trace (with CPU samples and the block
// profile on) while coroutines switch, yield from various depths, call
// runtime.Gosched and block on channels inside their frames (events whose
// stacks the tracer and the block profiler unwind with frame pointers through
// the co's frames), are resumed from other goroutines, and then parses the
// trace back with go tool trace.
func TestProfileTrace(t *testing.T) {
	if dir := profChild(t); dir != "" {
		path := filepath.Join(dir, "trace.out")
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() == 0 {
			t.Fatal("the execution trace is empty")
		}
		if out, ok := profGoTool(t, "trace", "-d=parsed", path); ok {
			t.Logf("go tool trace -d=parsed: %d bytes of events from a %d-byte trace", len(out), st.Size())
		}
		p := profParseFile(t, filepath.Join(dir, "block.pprof"))
		t.Logf("block profile: %d samples", len(p.samples))
		under, alone := p.countStacks("aco.profFrames", "aco.(*Co).Resume")
		t.Logf("block samples in co frames: %d under Resume (copy-stack), %d in co goroutines (portable)", under, alone)
		profGoTool(t, "pprof", "-raw", filepath.Join(dir, "block.pprof"))
		return
	}
	runtime.SetBlockProfileRate(1)
	defer runtime.SetBlockProfileRate(0)
	tf, err := os.Create(filepath.Join(profDir(), "trace.out"))
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.Start(tf); err != nil {
		t.Fatal(err)
	}
	var cpu bytes.Buffer
	if err := pprof.StartCPUProfile(&cpu); err != nil {
		t.Fatal(err)
	}
	hook := func(co *Co, i int) {
		runtime.Gosched()
		trace.Log(context.Background(), "aco", "inside a co")
		if i%(8*1024) == 0 {
			// The tracer records the stack of a sleeping goroutine.
			time.Sleep(time.Microsecond)
			// A receive that (almost always) blocks: the sender has not
			// run yet. The block profiler records the co's stack.
			ch := make(chan int)
			go func() { ch <- i }()
			<-ch
		}
	}
	main := NewMain()
	for _, k := range profKinds() {
		n := k.n / 10
		profSwitch(main, k.ss, 8, n, hook)
		// Resumes from other goroutines.
		co := Create(main, k.ss, 0, profBody(hook), nil)
		for i := 0; i < 4096; i++ {
			if i%64 == 0 {
				var wg sync.WaitGroup
				wg.Go(co.Resume)
				wg.Wait()
			} else {
				co.Resume()
			}
		}
		co.Destroy()
		if k.ss != nil {
			k.ss.Destroy()
		}
	}
	main.Destroy()
	pprof.StopCPUProfile()
	trace.Stop()
	if err := tf.Close(); err != nil {
		t.Fatal(err)
	}
	bf, err := os.Create(filepath.Join(profDir(), "block.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.Lookup("block").WriteTo(bf, 0); err != nil {
		t.Fatal(err)
	}
	if err := bf.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestProfileStacks takes runtime.Stack(all) and the goroutine profile
// (debug=0, 1 and 2) while thousands of coroutines of both kinds are
// suspended, and again from inside a running co of each kind, and checks
// what they show (see the comment at the top of this file).
func TestProfileStacks(t *testing.T) {
	if dir := profChild(t); dir != "" {
		for _, name := range []string{"suspended", "inside-sharestack", "inside-standalone", "inside-portable"} {
			p := profParseFile(t, filepath.Join(dir, "goroutine-"+name+".pprof"))
			if !p.hasSampleType("goroutine", "count") {
				t.Errorf("goroutine profile %s: sample types %v", name, p.sampleTypeNames())
			}
			profGoTool(t, "pprof", "-raw", filepath.Join(dir, "goroutine-"+name+".pprof"))
		}
		return
	}
	nSS, nSA := 4000, 1000
	if Engine() != CopyStack {
		nSS = 1000 // goroutines too, like the standalone ones
	}
	main := NewMain()
	// pmain's standalone cos run on the portable engine, a goroutine each.
	pmain := NewMain()
	pmain.x.portableKids = true
	ss := NewShareStack(0)
	var cos []*Co
	for i := 0; i < nSS+nSA; i++ {
		m, s, fn := main, ss, profSuspendedSS
		if i >= nSS {
			m, s, fn = pmain, nil, profSuspendedSA
		}
		co := Create(m, s, 0, fn, nil)
		co.Resume()
		cos = append(cos, co)
	}
	runtime.GC()

	snap := func(name string) (stack, debug1, debug2 string) {
		buf := make([]byte, 64<<20)
		stack = string(buf[:runtime.Stack(buf, true)])
		var b1, b2 bytes.Buffer
		if err := pprof.Lookup("goroutine").WriteTo(&b1, 1); err != nil {
			t.Errorf("%s: goroutine profile debug=1: %v", name, err)
		}
		if err := pprof.Lookup("goroutine").WriteTo(&b2, 2); err != nil {
			t.Errorf("%s: goroutine profile debug=2: %v", name, err)
		}
		if f, err := os.Create(filepath.Join(profDir(), "goroutine-"+name+".pprof")); err != nil {
			t.Error(err)
		} else {
			if err := pprof.Lookup("goroutine").WriteTo(f, 0); err != nil {
				t.Errorf("%s: goroutine profile debug=0: %v", name, err)
			}
			f.Close()
		}
		for what, s := range map[string]string{"runtime.Stack": stack, "debug=2": b2.String()} {
			if m := profRuntimeErrors.FindAllString(s, 3); m != nil {
				t.Errorf("%s: %s reports traceback errors: %q", name, what, m)
			}
		}
		return stack, b1.String(), b2.String()
	}

	stack, d1, d2 := snap("suspended")
	// Portable-engine cos are goroutines; suspended share-stack cos are
	// nowhere.
	for what, s := range map[string]string{"runtime.Stack": stack, "debug=2": d2} {
		if n := strings.Count(s, "aco.profSuspendedSA"); n < nSA {
			t.Errorf("%s: %d mentions of the %d suspended portable cos' function, want one goroutine each", what, n, nSA)
		}
		t.Logf("%s with %d suspended share-stack cos: their function appears %d times (suspended share-stack cos are invisible)",
			what, nSS, strings.Count(s, "aco.profSuspendedSS"))
	}
	if !strings.Contains(d1, "aco.profSuspendedSA") {
		t.Errorf("goroutine profile debug=1 does not show the portable cos")
	}

	// From inside a running co of each kind.
	for _, kind := range []struct {
		name string
		main *Co
		ss   *ShareStack
	}{{"sharestack", main, ss}, {"standalone", main, nil}, {"portable", pmain, nil}} {
		var stack, d2 string
		onResumer := kind.main == main && Engine() == CopyStack // the copy-stack engine
		co := Create(kind.main, kind.ss, 0, func(co *Co) {
			profInside(func() { stack, _, d2 = snap("inside-" + kind.name) })
		}, nil)
		profAt(3, co.Resume)
		if !co.IsEnd() {
			t.Errorf("the co taking the snapshot did not end")
		}
		co.Destroy()
		for what, s := range map[string]string{"runtime.Stack": stack, "debug=2": d2} {
			g := profGoroutineOf(s, "aco.profInside")
			if g == "" {
				t.Errorf("inside a running %s co: %s has no goroutine running aco.profInside", kind.name, what)
				continue
			}
			underResume := strings.Contains(g, "aco.profAt") && strings.Contains(g, "aco.(*Co).Resume")
			if onResumer && !underResume {
				t.Errorf("inside a running %s co (copy-stack): %s shows its frames without the resumer's Resume below them:\n%s", kind.name, what, g)
			}
			if !onResumer && underResume {
				t.Errorf("inside a running portable co: %s shows its frames on the resumer's goroutine:\n%s", what, g)
			}
		}
	}
	for _, co := range cos {
		co.Destroy()
	}
	ss.Destroy()
	main.Destroy()
	pmain.Destroy()
}

func profSuspendedSS(co *Co) {
	for {
		co.Yield()
	}
}

func profSuspendedSA(co *Co) {
	for {
		co.Yield()
	}
}

//go:noinline
func profInside(f func()) { f() }

// profGoroutineOf returns the goroutine block of a stack dump that mentions
// fn.
func profGoroutineOf(dump, fn string) string {
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, fn) {
			return g
		}
	}
	return ""
}
