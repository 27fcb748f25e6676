// Command acobench prints libaco's benchmark table for aco, measured in the
// same run as the Go peers a user would otherwise pick: iter.Pull and a
// goroutine driven over channels.
//
// Usage:
//
//	go run ./cmd/acobench [-quick] [-json] [-svg FILE] [-nofpu] [-target D] [-compare FILE]
//	go run ./cmd/acobench -mem N [-mem-impl sharestack|standalone|iterpull|chan]
//
// For aco share-stack coroutines, aco standalone coroutines, iter.Pull and
// goroutine+channel it measures, like libaco's benchmark:
//
//   - create+resume+destroy: create a coroutine (aco: save-stack size 64
//     bytes, libaco's aco_create/init_save_stk_sz=64B), resume it once,
//     destroy it; one coroutine at a time, in a loop;
//   - round trip: one resume+yield round trip of 1 coroutine, and of 100K,
//     1M and 2M coroutines resumed in round robin, each of whose bodies is
//     `for { co.Yield() }`; for the many-coroutine blocks the creation (+
//     first resume) and the destruction of all of them are timed too
//     (create+first resume, destroy);
//   - round trip, live stack KB: 1000 coroutines in round robin whose body
//     holds a K-byte array live across each yield, for libaco's sizes 0, 24,
//     56, 120, 232, 488, 1000, 2024, 4072 and 7992 bytes.
//
// iter.Pull's create is iter.Pull + the first next() and its destroy is
// stop(); a goroutine's create is go + the first round trip over its
// channels and its destroy is closing its input channel and waiting until it
// has exited. goroutine+channel is run up to 100K coroutines and iter.Pull up
// to 1M; a many-coroutine block is also skipped when a probe estimates it
// would take more than the memory budget (-mem-budget) or the time budget.
// Skipped cells say "skipped: memory" (or "time") in the table; a case that
// panics is reported on stderr and its cells say "failed: panic: ...", and
// the run goes on. Operation counts are calibrated so that each row runs for
// about -target; the one-coroutine rows (round trip, create+resume+destroy),
// which are compared across builds and with C libaco, are the median of 5
// more such runs (not with -quick). The default run takes under 3 minutes on a 2-core machine
// (about 45 seconds with the share-stack coroutines on the copy-stack
// engine), -quick (only the 100K block, 200 coroutines in the live-stack
// case, rows of about 25ms) under 30 seconds.
//
// The run also builds this command with the other FPU variant (with -tags
// aco_share_fpu_env, or without it when this binary has it), runs its key
// aco cases (1-coroutine round trip and create+resume+destroy) first and adds them
// as rows whose impl is marked "(shared FPU env)" or "(per-co FPU env)". If
// that build or run fails, a note in the header says so. -nofpu skips it.
//
// The table's last column divides a row's ns/op by the ns/op of the
// iter.Pull row of the same case and task amount in this run ("-" when there
// is none). With -json, the same rows are printed instead as one JSON object
// per line, with exactly the fields
//
//	case, impl, engine, cos, stack_bytes, ops, ns_per_op, ratio_vs_iter_pull
//
// where engine is aco.Engine() for aco's rows (share-stack and standalone)
// and "-" for iter.Pull and goroutine+channel; stack_bytes is
// the live array's size (0 outside the live-stack case); ratio_vs_iter_pull
// is null when there is no iter.Pull peer. Cells not measured (skipped or
// failed) are not printed.
//
// -svg FILE also writes a line chart of the live-stack case (ns per round
// trip against live stack size, one line per implementation) to FILE.
//
// -compare FILE (repeatable) reads the saved output of C libaco's own
// benchmark, test_aco_benchmark, run on the same machine, and prints after
// the table each of its rows beside the aco row measuring the same: the
// round trips by coroutine count (libaco's one-co row beside aco's
// share-stack row of the same FPU variant), libaco's create plus a resume
// beside aco's create+first resume, and the destroys; libaco's value is the
// median of its repeats after its warm-up. The README says how to make
// the file.
//
// -mem N holds N suspended coroutines (resumed once each, suspended at their
// first yield; share-stack by default) and reports the resident memory they
// take per coroutine and in total (VmRSS after runtime.GC and
// debug.FreeOSMemory, minus a baseline taken before creating them), and the
// Go heap and goroutine stacks in use. It refuses iter.Pull counts estimated
// beyond 16 GB, and any count whose first 100,000 coroutines extrapolate
// beyond 16 GB or 90% of the available memory.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// fpuTag is the build tag of aco's shared FPU/MXCSR environment variant.
const fpuTag = "aco_share_fpu_env"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("acobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a fast look: shorter rows, only the 100K block (under 30 s)")
	jsonOut := fs.Bool("json", false, "print one JSON object per row instead of the table")
	svgFile := fs.String("svg", "", "also write the live-stack chart to this `file` (SVG)")
	depthFile := fs.String("depth-svg", "", "also write the tree-walk chart (ns per value against depth) to this `file` (SVG)")
	noWork := fs.Bool("noworkloads", false, "leave the workloads section out")
	noFPU := fs.Bool("nofpu", false, "do not build and run the other FPU-environment variant")
	target := fs.Duration("target", 0, "time per calibrated row (default 200ms, 25ms with -quick)")
	memBudget := fs.Float64("mem-budget", 5, "largest estimated memory of one round-robin block, in `GB`")
	memN := fs.Int("mem", 0, "hold `N` suspended coroutines and report their memory")
	memImpl := fs.String("mem-impl", "sharestack", "coroutines for -mem: sharestack, standalone, iterpull or chan")
	child := fs.Bool("child", false, "internal: measure the key aco cases and print them as JSON for the parent")
	var compare []string
	fs.Func("compare", "also print C libaco's rows from this `file` (the saved output of its test_aco_benchmark) beside aco's; may be repeated", func(f string) error {
		compare = append(compare, f)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "acobench: unexpected arguments %q\n", fs.Args())
		return 2
	}

	if *memN != 0 {
		id, err := parseImpl(*memImpl)
		if err == nil {
			err = runMem(stdout, stderr, *memN, id)
		}
		if err != nil {
			fmt.Fprintln(stderr, "acobench:", err)
			return 1
		}
		return 0
	}

	var cruns []*libacoRun
	if len(compare) > 0 && *jsonOut {
		fmt.Fprintln(stderr, "acobench: -compare prints a table of its own after the report: it cannot be combined with -json")
		return 2
	}
	for _, f := range compare {
		run, err := readLibaco(f)
		if err != nil {
			fmt.Fprintln(stderr, "acobench: -compare:", err)
			return 2
		}
		cruns = append(cruns, run)
	}

	if k := emulatedKernel; k != "" && (*jsonOut || *svgFile != "" || *depthFile != "" || len(compare) > 0) {
		fmt.Fprintf(stderr, "acobench: this %s build runs under emulation on a %s kernel, whose timings measure the emulator: -json, -svg, -depth-svg and -compare are refused (the table still runs every case, without timings)\n", runtime.GOARCH, k)
		return 2
	}

	cfg := defaultConfig(*quick)
	if *target > 0 {
		cfg.target = *target
	}
	cfg.memBudget = int64(*memBudget * 1e9)
	cfg.noWorkloads = *noWork

	if *child {
		cfg.label = " (" + fpuVariant(sharedFPUEnv) + ")"
		cfg.rank = 1
		p := newProgress(stderr, "["+fpuVariant(sharedFPUEnv)+" build] ")
		rows := measure(&cfg, true, p)
		p.clear()
		enc := json.NewEncoder(stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				fmt.Fprintln(stderr, "acobench:", err)
				return 1
			}
		}
		return 0
	}

	m := newMeta()
	m.StackCos = cfg.stackCos
	p := newProgress(stderr, "")
	tasks := plan(&cfg, false)
	p.n = len(tasks)
	other := fpuVariant(!sharedFPUEnv)
	var exe string
	if *noFPU {
		m.Other = "the " + other + " variant was not run (-nofpu)"
	} else {
		p.n += 2
		p.step("building the " + other + " variant")
		var cleanup func()
		var err error
		exe, cleanup, err = buildOther()
		if err != nil {
			m.Other = fmt.Sprintf("note: could not build the %s variant, its rows are missing: %v", other, err)
			p.n--
		} else {
			defer cleanup()
		}
	}
	// The other variant runs first, on the machine as this one's
	// one-coroutine rows (the first tasks) find it: run after the
	// many-coroutine blocks, the shared-FPU build's round trip measured
	// 9-26 % slower than the default build's, where the two measure the
	// same when run alone.
	var rows []Row
	if exe != "" {
		p.step("running the " + other + " variant")
		p.clear()
		crows, err := runOther(exe, *quick, cfg.target, stderr)
		if err != nil {
			m.Other = fmt.Sprintf("note: the %s variant failed, its rows are missing: %v", other, err)
		} else {
			rows = append(rows, crows...)
			m.Other = fmt.Sprintf(`rows marked "(%s)" come from a build of this command %s -tags %s, run just before this one`,
				other, map[bool]string{true: "with", false: "without"}[!sharedFPUEnv], fpuTag)
		}
	}
	rows = append(rows, runTasks(tasks, p)...)
	p.clear()
	finalize(rows)
	if emulatedKernel != "" {
		markEmulated(rows)
	}

	m.Notes = cfg.workloadNotes
	if *svgFile != "" {
		if err := writeChartFile(*svgFile, rows, &m, writeSVG); err != nil {
			fmt.Fprintln(stderr, "acobench:", err)
			return 1
		}
	}
	if *depthFile != "" {
		if err := writeChartFile(*depthFile, rows, &m, writeDepthSVG); err != nil {
			fmt.Fprintln(stderr, "acobench:", err)
			return 1
		}
	}
	if *jsonOut {
		if err := writeJSON(stdout, rows); err != nil {
			fmt.Fprintln(stderr, "acobench:", err)
			return 1
		}
		return 0
	}
	m.writeHeader(stdout)
	fmt.Fprintln(stdout)
	writeTable(stdout, rows, &m)
	for _, run := range cruns {
		writeComparison(stdout, run, rows)
	}
	return 0
}

// measure runs every planned task and returns the rows, unsorted.
func measure(cfg *config, keyOnly bool, p *progress) []Row {
	tasks := plan(cfg, keyOnly)
	if p != nil {
		p.n += len(tasks)
	}
	return runTasks(tasks, p)
}

func runTasks(tasks []task, p *progress) []Row {
	var rows []Row
	errw := io.Discard
	if p != nil && p.w != nil {
		errw = p.w
	}
	for _, t := range tasks {
		if p != nil {
			p.step(t.what)
		}
		rows = append(rows, runTask(t, errw)...)
	}
	return rows
}

func writeChartFile(name string, rows []Row, m *meta, write func(io.Writer, []Row, *meta) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f, rows, m); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sourceDir is the directory of this command's source, where the other
// variant is built.
func sourceDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if _, err := os.Stat(file); err == nil {
			return filepath.Dir(file), nil
		}
	}
	if _, err := os.Stat(filepath.Join("cmd", "acobench", "main.go")); err == nil {
		return filepath.Abs(filepath.Join("cmd", "acobench"))
	}
	return "", errors.New("cannot find the source of cmd/acobench (run it from the repository root)")
}

// buildOther builds this command with the other FPU variant into a
// temporary directory.
func buildOther() (exe string, cleanup func(), err error) {
	src, err := sourceDir()
	if err != nil {
		return "", nil, err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", nil, fmt.Errorf("no go command: %v", err)
	}
	dir, err := os.MkdirTemp("", "acobench-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	exe = filepath.Join(dir, "acobench-other")
	args := []string{"build", "-o", exe}
	if !sharedFPUEnv {
		args = append(args, "-tags", fpuTag)
	}
	args = append(args, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, firstLines(string(out), 3))
	}
	return exe, cleanup, nil
}

// runOther runs the other variant's key cases and returns its rows.
func runOther(exe string, quick bool, target time.Duration, stderr io.Writer) ([]Row, error) {
	args := []string{"-child", "-target", target.String()}
	timeout := 2 * time.Minute
	if quick {
		args = append(args, "-quick")
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var rows []Row
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var r Row
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("reading its rows: %v", err)
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, errors.New("it printed no rows")
	}
	return rows, nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, " | ")
}
