package aco

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzDifferential decodes its input into a program over a main co, a few
// share stacks and up to fzMaxCos coroutines, each of which runs a small
// script that is itself part of the input, and runs the same program twice:
//
//   - with share stacks: every co is created on a share stack, so it runs on
//     the copy-stack engine (when Engine() is CopyStack; under -race or
//     ACO_ENGINE=portable this run is portable too);
//   - standalone: every co is created with a nil share stack by a main co
//     whose standalone cos run on the portable engine (a goroutine per co;
//     see portableKids).
//
// Both runs write a log of everything observable — the values yielded, each
// co's own trace, which deferred calls ran and in what order, what
// recover() saw inside the co, the panics (values and misuse messages) that
// reach a resumer, the last-word hook, IsEnd after every switch — and the
// logs must be equal. What legitimately differs between the runs is not
// compared but checked against the harness's own expectation in each run:
// the save-stack statistics (copy-stack: CtSave is the number of yields,
// CtRestore the number of resumes of a suspended co — Destroy of a suspended
// co resumes it to unwind it, so it counts —, MaxCopySize > 0 once it has
// yielded; portable: all zero). A share-stack co whose image outgrows the
// move threshold moves onto a goroutine of its own at its next resume (one
// more restore) and makes no copies after that; the program chooses the
// threshold (bits 2-3 of the first byte: the default MoveThreshold, 0 — every
// co moves at its first resume after a yield —, 256 bytes, or never).
//
// Share stacks run one co at a time; standalone coroutines have no such rule.
// To keep the runs comparable, the program has two modes (bit 0 of the first
// byte): in "own" mode every slot has a share stack of its own, so nested
// resumes never meet a busy share stack; in "shared" mode the cos share 2 or 3
// share stacks, and a nested Resume (or Destroy) whose target's share stack
// is held by a running co is skipped — in both runs, as the harness knows the
// share-stack assignment of the first run in the second — and logged as such.
//
// The driver resumes and destroys cos from varying call depths and from
// other goroutines, and cos resume and destroy each other, so the copy-stack
// engine restores images at other addresses (relocation), on other
// goroutines and below other cos' frames.
//
// No misuse message differs between the engines for the operations the
// program can perform, so fzNormalize is the identity; see its comment.
//
// ACO_FUZZ_DUMP=1 logs the program and both runs' logs for every input.
//
// One misuse is kept out of the random programs because the misuse
// catalogue (misuse_table_test.go) reports it on its own: yielding an outer
// co from inside a co it resumed (fiMisuse only yields cos that are not
// running). Deferred calls that yield while a panic (raised by the script,
// or a runtime error) unwinds the co are in: both engines run them.
func FuzzDifferential(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fzDecode(data)
		ss := fzExecute(p, true)
		sa := fzExecute(p, false)
		if os.Getenv("ACO_FUZZ_DUMP") != "" {
			t.Logf("program:\n%s\nshare-stack run:\n  %s\nstandalone run:\n  %s", p,
				strings.Join(ss.log, "\n  "), strings.Join(sa.log, "\n  "))
		}
		for _, msg := range ss.fails {
			t.Errorf("share-stack run: %s", msg)
		}
		for _, msg := range sa.fails {
			t.Errorf("standalone run: %s", msg)
		}
		if d := fzDiff(ss.log, sa.log); d != "" {
			t.Errorf("the traces differ (share-stack run on %s, standalone run on %s):\n%s\nprogram:\n%s",
				Engine(), Portable, d, p)
		}
		if !slices.Equal(ss.traces, sa.traces) {
			t.Errorf("per-co traces differ:\nshare-stack: %q\nstandalone:  %q", ss.traces, sa.traces)
		}
	})
}

const (
	fzMaxCos   = 8  // coroutine slots
	fzMaxOps   = 64 // top-level operations per program
	fzMaxInstr = 12 // instructions per co script
)

// Top-level operations, run by the driver (the main co's side).
const (
	fzCreate       = iota // create a co in the first free slot from slot
	fzResume              // resume the co in slot
	fzResumeGo            // resume it from a new goroutine and wait
	fzDestroy             // destroy it (a suspended co is unwound: its defers run)
	fzReset               // reset it with a new script (misuse unless ended)
	fzGC                  // runtime.GC()
	fzProbe               // log IsEnd, check the save-stack statistics
	fzYieldOutside        // misuse: co.Yield() from the driver
	fzExitOutside         // misuse: co.Exit() from the driver
	fzNumOps
)

var fzOpNames = [...]string{"create", "resume", "resume-go", "destroy", "reset", "gc", "probe", "yield-outside", "exit-outside"}

// Script instructions, run inside a co. a is the instruction's argument byte.
const (
	fiYield         = iota // yield a; a heap local and stack locals are checked after resume
	fiDescend              // block: recurse a/4%24+1 frames with locals (checked on return), run the block at the bottom
	fiProtect              // block: run it under a deferred recover that logs (and re-panics an *Unwind)
	fiDefer                // heap-allocated defer (in exec's loop) that logs a
	fiOpenDefer            // block: run it in a function with an open-coded defer that logs a
	fiStackDefer           // block: run it in a function with a stack-allocated defer that logs a
	fiExit                 // co.Exit()
	fiReturn               // return from the co's function
	fiPanic                // panic with an fzPanic value
	fiRuntimeErr           // a runtime error: a%2 == 0 nil dereference, else index out of range
	fiGC                   // runtime.GC() inside the co
	fiNested               // resume slot a%8 from inside the co; from a new goroutine if a&8 != 0
	fiNestedDestroy        // destroy slot a%8 from inside the co
	fiDeferYield           // defer a call that yields (also while a panic unwinds the co)
	fiDeferPanic           // defer a call that panics
	fiMisuse               // misuse a%6 from inside the co (see fzMisuseNames), on slot a/6%8 for the last two
	fiRangeDefer           // block: run it inside a range-over-func loop body that defers a call logging a
	fiWalk                 // walk a tree of depth a%4+2 (pre-order if a/48 is odd, else in order), yielding every node, a/4%12 frames deeper
	fiNum
)

var fzInstrNames = [...]string{"Y", "Descend", "Protect", "Defer", "OpenDefer", "StackDefer", "Exit", "Return",
	"Panic", "RuntimeErr", "GC", "Nested", "NestedDestroy", "DeferYield", "DeferPanic", "Misuse", "RangeDefer", "Walk"}

var fzMisuseNames = [...]string{"resume-self", "destroy-self", "reset-self", "create-nil-fn", "yield-other", "exit-other"}

var fzHints = [...]int{0, 1, 64, 4096}

// fzBlock reports whether op takes the next a%4+1 instructions as its block.
func fzBlock(op int) bool {
	return op == fiDescend || op == fiProtect || op == fiOpenDefer || op == fiStackDefer || op == fiRangeDefer
}

type fzInstr struct{ op, a int }

type fzOp struct {
	kind, slot int
	depth      int // resume, resume-go, destroy: from this many frames deeper (0-3)
	ss, hint   int // create: share-stack choice (shared mode), save-stack size index
	script     []fzInstr
}

type fzProg struct {
	shared bool
	nss    int
	move   int // index in fzMoveThresholds
	ops    []fzOp
}

// fzMoveThresholds are the move thresholds a program can choose.
var fzMoveThresholds = [...]uintptr{MoveThreshold, 0, 256, ^uintptr(0)}

func (p *fzProg) String() string {
	var b strings.Builder
	mode := "own share stack per slot"
	if p.shared {
		mode = fmt.Sprintf("%d shared share stacks", p.nss)
	}
	fmt.Fprintf(&b, "  mode: %s, move threshold %d\n", mode, fzMoveThresholds[p.move])
	for _, op := range p.ops {
		fmt.Fprintf(&b, "  %s %d", fzOpNames[op.kind], op.slot)
		if op.depth != 0 && (op.kind == fzResume || op.kind == fzResumeGo || op.kind == fzDestroy) {
			fmt.Fprintf(&b, " depth=%d", op.depth)
		}
		if op.kind == fzCreate {
			fmt.Fprintf(&b, " ss=%d hint=%d", op.ss%p.nss, fzHints[op.hint])
		}
		if op.kind == fzCreate || op.kind == fzReset {
			for _, in := range op.script {
				fmt.Fprintf(&b, " %s(%d)", fzInstrNames[in.op], in.a)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// fzReader reads the input; past its end it reads zeros.
type fzReader struct {
	b []byte
	i int
}

func (r *fzReader) next() int {
	if r.i >= len(r.b) {
		r.i++
		return 0
	}
	v := r.b[r.i]
	r.i++
	return int(v)
}

func (r *fzReader) done() bool { return r.i >= len(r.b) }

func (r *fzReader) script() []fzInstr {
	n := r.next() % (fzMaxInstr + 1)
	s := make([]fzInstr, 0, n)
	for range n {
		op := r.next() % fiNum
		s = append(s, fzInstr{op: op, a: r.next()})
	}
	return s
}

// fzDecode turns fuzz input into a program. Every input is a valid program.
func fzDecode(data []byte) *fzProg {
	r := &fzReader{b: data}
	flags := r.next()
	p := &fzProg{shared: flags&1 != 0, nss: 2 + (flags>>1)%2, move: (flags >> 2) % 4}
	for len(p.ops) < fzMaxOps && !r.done() {
		b := r.next()
		op := fzOp{kind: b % fzNumOps, depth: b / fzNumOps % 4, slot: r.next() % fzMaxCos}
		switch op.kind {
		case fzCreate:
			op.ss = r.next()
			op.hint = r.next() % len(fzHints)
			op.script = r.script()
		case fzReset:
			op.script = r.script()
		}
		p.ops = append(p.ops, op)
	}
	return p
}

// fzEncode is fzDecode's inverse, for writing seeds.
func fzEncode(p *fzProg) []byte {
	var b []byte
	flags := byte(0)
	if p.shared {
		flags |= 1
	}
	flags |= byte(p.nss-2) << 1
	flags |= byte(p.move) << 2
	b = append(b, flags)
	for _, op := range p.ops {
		b = append(b, byte(op.kind+fzNumOps*op.depth), byte(op.slot))
		if op.kind == fzCreate {
			b = append(b, byte(op.ss), byte(op.hint))
		}
		if op.kind == fzCreate || op.kind == fzReset {
			b = append(b, byte(len(op.script)))
			for _, in := range op.script {
				b = append(b, byte(in.op), byte(in.a))
			}
		}
	}
	return b
}

// fzCorpusDir is the committed seed corpus of FuzzDifferential.
const fzCorpusDir = "testdata/fuzz/FuzzDifferential"

// fzCorpusFile renders data in the "go test fuzz v1" format.
func fzCorpusFile(data []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
}

// fzParseCorpusFile reads a "go test fuzz v1" file with one []byte value.
func fzParseCorpusFile(b []byte) ([]byte, error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, fmt.Errorf("not a one-value go test fuzz v1 file")
	}
	v, ok := strings.CutPrefix(lines[1], "[]byte(")
	if !ok || !strings.HasSuffix(v, ")") {
		return nil, fmt.Errorf("value is not []byte(...)")
	}
	s, err := strconv.Unquote(strings.TrimSuffix(v, ")"))
	return []byte(s), err
}

// TestFuzzSeedCorpus checks that the committed seeds decode to the programs
// in fzSeeds and that, together, they execute every top-level operation,
// every script instruction and every kind of inside misuse, and that on the
// copy-stack engine some yield captures only part of its frames. With
// ACO_FUZZ_WRITE_SEEDS=1 it (re)writes them first.
func TestFuzzSeedCorpus(t *testing.T) {
	if os.Getenv("ACO_FUZZ_WRITE_SEEDS") == "1" {
		if err := os.MkdirAll(fzCorpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, p := range fzSeeds {
			if err := os.WriteFile(filepath.Join(fzCorpusDir, "seed-"+name), fzCorpusFile(fzEncode(p)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cover := map[string]bool{}
	for name, p := range fzSeeds {
		b, err := os.ReadFile(filepath.Join(fzCorpusDir, "seed-"+name))
		if err != nil {
			t.Errorf("seed %s: %v (write the seeds with ACO_FUZZ_WRITE_SEEDS=1)", name, err)
			continue
		}
		data, err := fzParseCorpusFile(b)
		if err != nil {
			t.Errorf("seed %s: %v", name, err)
			continue
		}
		if !bytes.Equal(data, fzEncode(p)) {
			t.Errorf("seed %s is stale: rewrite the seeds with ACO_FUZZ_WRITE_SEEDS=1", name)
		}
		if got := fzDecode(data).String(); got != p.String() {
			t.Errorf("seed %s decodes to\n%s\nwant\n%s", name, got, p)
		}
		for _, useSS := range []bool{true, false} {
			res := fzExecuteCover(fzDecode(data), useSS, cover)
			for _, msg := range res.fails {
				t.Errorf("seed %s (share stacks %v): %s", name, useSS, msg)
			}
		}
	}
	var want []string
	want = append(want, fzOpNames[:]...)
	want = append(want, fzInstrNames[:]...)
	for _, m := range fzMisuseNames {
		want = append(want, "Misuse-"+m)
	}
	want = append(want, "nested-resume", "nested-go-resume", "nested-destroy")
	if Engine() == CopyStack {
		want = append(want, "partial-capture")
	}
	for _, w := range want {
		if !cover[w] {
			t.Errorf("no seed executes %s", w)
		}
	}
}

// TestFuzzDecodeRoundTrip checks fzEncode against fzDecode on every seed.
func TestFuzzDecodeRoundTrip(t *testing.T) {
	for name, p := range fzSeeds {
		if !bytes.Equal(fzEncode(fzDecode(fzEncode(p))), fzEncode(p)) {
			t.Errorf("seed %s does not round-trip", name)
		}
	}
}
