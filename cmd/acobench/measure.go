package main

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arkenstone-go/arkenstone/aco"
)

// kind is the kind of measurement a row holds.
type kind int

const (
	kindCreateResumeDestroy kind = iota // one co at a time: create, first resume, destroy
	kindCreate                          // N cos: create + first resume
	kindRoundTrip                       // resume+yield round trip, N cos in round robin
	kindDestroy                         // N suspended cos: destroy
	kindLiveStack                       // round trip with a live array on the co's stack
	kindWorkload                        // a real generator shape: ns per pulled value
)

// caseName is the text of the "case" column and of the JSON "case" field.
func caseName(k kind, stack int) string {
	switch k {
	case kindCreateResumeDestroy:
		return "create+resume+destroy"
	case kindCreate:
		return "create+first resume"
	case kindRoundTrip:
		return "round trip"
	case kindDestroy:
		return "destroy"
	case kindLiveStack:
		return fmt.Sprintf("round trip, live stack %dB", stack)
	case kindWorkload:
		return "workload"
	}
	return "?"
}

// Row is one line of the report. The table, the JSON lines and the SVG are
// all rendered from Rows; the child process (the other FPU variant) sends
// its Rows to the parent as JSON too.
type Row struct {
	Case       string
	Impl       string
	Engine     string
	Cos        int   // coroutines alive during the measurement (task amount)
	StackBytes int   // bytes of the live array at the yield (0: none)
	Ops        int64 // operations timed
	Total      time.Duration
	// Note says why the row was not measured ("skipped: memory",
	// "skipped: time", "failed: panic: ..."); the numbers are then zero.
	Note string
	// CopyBytes is SaveStack().MaxCopySize of a share-stack co in the
	// live-stack case: what the engine really copies per yield (0 when the
	// engine copies nothing).
	CopyBytes int
	// Depth is the tree depth of a tree-walk workload row (0 otherwise).
	Depth int

	// Ordering: rows are shown sorted by (Block, Sub, Rank).
	Block, Sub, Rank int
	Kind             kind
	ImplID           implID

	// Set by finalize: ns/op divided by the iter.Pull row of the same case
	// and task amount, when the run has one.
	Ratio    float64
	HasRatio bool
}

// NsPerOp is the row's time per operation.
func (r *Row) NsPerOp() float64 {
	if r.Ops == 0 {
		return 0
	}
	return float64(r.Total.Nanoseconds()) / float64(r.Ops)
}

// config is what to measure and how long.
type config struct {
	// target is the time one calibrated row runs for (about).
	target time.Duration
	// fixedOps, when > 0, turns calibration off: every calibrated loop
	// runs fixedOps operations and the round robins one pass (tests).
	fixedOps int
	// counts are the coroutine counts of the round-robin blocks (besides
	// the single co).
	counts []int
	// stackCos is the number of coroutines of the live-stack case.
	stackCos int
	// sizes are the live-stack sizes.
	sizes []int
	// impls are the implementations measured.
	impls []implID
	// memBudget is the largest estimated memory a block may use (bytes).
	memBudget int64
	// maxBlock is the longest estimated time a round-robin block may take.
	maxBlock time.Duration
	// deadline: blocks estimated to end after it are "skipped: time".
	deadline time.Time
	// caps: the largest coroutine count per implementation (0: no cap);
	// larger blocks are "skipped: memory".
	caps [numImpls]int
	// label is appended to the impl names, e.g. " (shared FPU env)", and
	// rank is added to the impl ranks (the child's rows sort after the
	// parent's rows of the same impl).
	label string
	rank  int
	// probeCos is the number of coroutines used to estimate a block's
	// memory and time before running it.
	probeCos int
	// quick: the -quick run (fewer and smaller workloads).
	quick bool
	// noWorkloads leaves the workloads section out.
	noWorkloads bool
	// workloadNotes say which workloads were left out, and why.
	workloadNotes []string
}

func defaultConfig(quick bool) config {
	c := config{
		target:    200 * time.Millisecond,
		counts:    []int{100_000, 1_000_000, 2_000_000},
		stackCos:  1000,
		sizes:     liveStackSizes,
		impls:     []implID{implShareStack, implStandalone, implIterPull, implGoroutine},
		memBudget: 5 << 30,
		maxBlock:  40 * time.Second,
		deadline:  time.Now().Add(150 * time.Second),
		probeCos:  20_000,
	}
	c.caps[implGoroutine] = 100_000
	c.caps[implIterPull] = 1_000_000
	if quick {
		c.quick = true
		c.target = 25 * time.Millisecond
		c.counts = []int{100_000}
		c.stackCos = 200
		c.maxBlock = 5 * time.Second
		c.deadline = time.Now().Add(20 * time.Second)
		c.probeCos = 5_000
	}
	return c
}

// task is one step of the run.
type task struct {
	what string
	run  func() []Row
	// fail returns the rows run would have returned, marked with note, for
	// when run panics.
	fail func(note string) []Row
}

// plan lists the tasks of a benchmark run. With keyOnly (the child process)
// only the key single-coroutine cases of the aco implementations are
// planned.
func plan(c *config, keyOnly bool) []task {
	var ts []task
	impls := c.impls
	if keyOnly {
		impls = nil
		for _, id := range c.impls {
			if id.isAco() {
				impls = append(impls, id)
			}
		}
	}
	for _, id := range impls {
		ts = append(ts, task{"create+resume+destroy, 1 co, " + id.String(),
			func() []Row { return []Row{c.measureCreateResumeDestroy(id)} },
			func(note string) []Row { return []Row{c.noted(id, kindCreateResumeDestroy, 1, 0, 0, 0, note)} },
		})
	}
	for _, id := range impls {
		ts = append(ts, task{"round trip, 1 co, " + id.String(),
			func() []Row { return []Row{c.measureRoundTrip1(id)} },
			func(note string) []Row { return []Row{c.noted(id, kindRoundTrip, 1, 0, 0, 1, note)} },
		})
	}
	if keyOnly {
		return ts
	}
	for bi, n := range c.counts {
		for _, id := range impls {
			ts = append(ts, task{fmt.Sprintf("create, round trip, destroy: %s cos, %s", countLabel(n), id),
				func() []Row { return c.measureBlock(id, n, 1+bi) },
				func(note string) []Row { return c.blockNoted(id, n, 1+bi, note) },
			})
		}
	}
	for si, k := range c.sizes {
		for _, id := range impls {
			block := 1 + len(c.counts)
			ts = append(ts, task{fmt.Sprintf("live stack %dB, %d cos, %s", k, c.stackCos, id),
				func() []Row { return []Row{c.measureLiveStack(id, k, si, block)} },
				func(note string) []Row { return []Row{c.noted(id, kindLiveStack, c.stackCos, k, block, si, note)} },
			})
		}
	}
	if c.noWorkloads {
		return ts
	}
	ws, depths, notes := c.workloads()
	c.workloadNotes = notes
	for wi, w := range ws {
		depth := 0
		if wi < len(depths) {
			depth = depths[wi]
		}
		for _, id := range impls {
			block := 2 + len(c.counts)
			ts = append(ts, task{w.Name + ", " + id.String(),
				func() []Row { return []Row{c.measureWorkload(id, w, depth, block, wi)} },
				func(note string) []Row {
					r := c.noted(id, kindWorkload, 1, 0, block, wi, note)
					r.Case, r.Depth = workloadCase(w), depth
					return []Row{r}
				},
			})
		}
	}
	return ts
}

// runTask runs t; if it panics, the panic is reported on errw and t's rows
// are marked failed, so that one broken case does not lose the report.
func runTask(t task, errw io.Writer) (rows []Row) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(errw, "\nacobench: %s: panic: %v\n%s\n", t.what, v, debug.Stack())
			msg := strings.Join(strings.Fields(fmt.Sprint(v)), " ")
			if len(msg) > 60 {
				msg = msg[:57] + "..."
			}
			rows = t.fail("failed: panic: " + msg)
		}
	}()
	return t.run()
}

// countLabel writes 100000 as 100K and 2000000 as 2M.
func countLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dK", n/1000)
	}
	return fmt.Sprint(n)
}

func (c *config) row(id implID, k kind, cos, stack int, ops int64, d time.Duration, block, sub int) Row {
	return Row{
		Case: caseName(k, stack), Impl: id.String() + c.label, Engine: id.engine(),
		Cos: cos, StackBytes: stack, Ops: ops, Total: d,
		Block: block, Sub: sub, Rank: 2*int(id) + c.rank, Kind: k, ImplID: id,
	}
}

// noted is a row that was not measured, with note saying why.
func (c *config) noted(id implID, k kind, cos, stack, block, sub int, note string) Row {
	r := c.row(id, k, cos, stack, 0, 0, block, sub)
	r.Note = note
	return r
}

// blockNoted is the three rows of a many-coroutine block, not measured.
func (c *config) blockNoted(id implID, n, block int, note string) []Row {
	var rows []Row
	for sub, k := range []kind{kindCreate, kindRoundTrip, kindDestroy} {
		rows = append(rows, c.noted(id, k, n, 0, block, sub, note))
	}
	return rows
}

// calibrate runs f(n) with growing n until one call takes at least the
// target time and returns that n and its duration.
func (c *config) calibrate(f func(n int)) (int, time.Duration) {
	if c.fixedOps > 0 {
		t0 := time.Now()
		f(c.fixedOps)
		return c.fixedOps, time.Since(t0)
	}
	n := 1
	for {
		t0 := time.Now()
		f(n)
		d := time.Since(t0)
		if d >= c.target || n >= 1<<30 {
			return n, d
		}
		next := 100 * n
		if d > 0 {
			// Aim 20% past the target so the next call is the last one.
			if p := float64(n) * 1.2 * float64(c.target) / float64(d); p < float64(next) {
				next = int(p)
			}
		}
		n = max(next, n+1)
	}
}

func (c *config) measureCreateResumeDestroy(id implID) Row {
	n, d := c.calibrateMedian(func(n int) { createResumeDestroy(id, n) })
	return c.row(id, kindCreateResumeDestroy, 1, 0, int64(n), d, 0, 0)
}

func (c *config) measureRoundTrip1(id implID) Row {
	g := newGroup(id, 0, 1)
	g.create(1)
	n, d := c.calibrateMedian(g.run)
	g.destroy()
	return c.row(id, kindRoundTrip, 1, 0, int64(n), d, 0, 1)
}

// keyRuns is how many timed calls calibrateMedian takes the median of.
const keyRuns = 5

// calibrateMedian is calibrate for the one-coroutine rows, which the
// report compares across builds (the other FPU variant, run in a child
// process just before this one) and with C libaco: after calibrating it
// times keyRuns more calls of the same size and returns their median, so
// that a stall of the machine during one call does not become the row.
// One call once made the shared-FPU build's round trip look a quarter
// slower than the default build's, which repeated runs do not.
func (c *config) calibrateMedian(f func(n int)) (int, time.Duration) {
	n, d := c.calibrate(f)
	if c.fixedOps > 0 || c.quick {
		return n, d
	}
	ds := make([]time.Duration, keyRuns)
	for i := range ds {
		t0 := time.Now()
		f(n)
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return n, ds[keyRuns/2]
}

func (c *config) measureLiveStack(id implID, stack, si, block int) Row {
	g := newGroup(id, stack, c.stackCos)
	g.create(c.stackCos)
	passes, d := c.calibrate(g.run)
	var copied int
	if ag, ok := g.(*acoGroup); ok {
		copied = ag.copyBytes()
	}
	g.destroy()
	r := c.row(id, kindLiveStack, c.stackCos, stack, int64(passes)*int64(c.stackCos), d, block, si)
	r.CopyBytes = copied
	return r
}

// measureBlock creates n coroutines (resuming each once), runs round-robin
// passes over them and destroys them, timing each phase: three rows.
func (c *config) measureBlock(id implID, n, block int) []Row {
	skip := func(reason string) []Row { return c.blockNoted(id, n, block, "skipped: "+reason) }
	if lim := c.caps[id]; lim > 0 && n > lim {
		return skip("memory")
	}
	if c.fixedOps == 0 && n > c.probeCos {
		mem, per := probe(id, c.probeCos)
		if mem*float64(n) > float64(c.memBudget) {
			return skip("memory")
		}
		// Creating, one pass and destroying, plus what the GC costs with
		// so many coroutines alive: allow for half as much again.
		est := time.Duration(1.5 * float64(per) * float64(n))
		if est > c.maxBlock || time.Now().Add(est).After(c.deadline) {
			return skip("time")
		}
	}
	if c.fixedOps == 0 && usesGoroutines(id) {
		warmGoroutines(n)
	}
	g := newGroup(id, 0, n)
	runtime.GC()
	t0 := time.Now()
	g.create(n)
	dCreate := time.Since(t0)

	runtime.GC()
	passes := 1
	t0 = time.Now()
	g.run(1)
	dRun := time.Since(t0)
	if c.fixedOps == 0 && dRun < c.target/2 {
		passes = int(c.target/max(dRun, 1)) + 1
		t0 = time.Now()
		g.run(passes)
		dRun = time.Since(t0)
	}

	runtime.GC()
	t0 = time.Now()
	g.destroy()
	dDestroy := time.Since(t0)
	g = nil
	debug.FreeOSMemory()

	return []Row{
		c.row(id, kindCreate, n, 0, int64(n), dCreate, block, 0),
		c.row(id, kindRoundTrip, n, 0, int64(passes)*int64(n), dRun, block, 1),
		c.row(id, kindDestroy, n, 0, int64(n), dDestroy, block, 2),
	}
}

// usesGoroutines reports whether id's coroutines are goroutines.
func usesGoroutines(id implID) bool {
	return id != implShareStack || aco.Engine() == aco.Portable
}

// warmedGoroutines is the largest number of goroutines alive at once so far.
var warmedGoroutines int

// warmGoroutines starts n goroutines at once and lets them exit, so the
// runtime's pool of goroutine descriptors is as warm for the first
// implementation of a block that creates n goroutines as for the next ones.
func warmGoroutines(n int) {
	if n <= warmedGoroutines {
		return
	}
	var wg sync.WaitGroup
	release := make(chan struct{})
	wg.Add(n)
	for range n {
		go func() {
			<-release
			wg.Done()
		}()
	}
	close(release)
	wg.Wait()
	warmedGoroutines = n
}

// probe creates m coroutines of implementation id, runs one pass and
// destroys them. It returns the memory each one used (Go heap and stacks)
// and the time per coroutine of the three phases together.
func probe(id implID, m int) (bytesPerCo float64, perCo time.Duration) {
	var before, after runtime.MemStats
	debug.FreeOSMemory()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	g := newGroup(id, 0, m)
	g.create(m)
	g.run(1)
	d := time.Since(t0)
	debug.FreeOSMemory()
	runtime.ReadMemStats(&after)
	t0 = time.Now()
	g.destroy()
	d += time.Since(t0)
	g = nil
	runtime.GC()
	used := float64(after.HeapInuse+after.StackInuse) - float64(before.HeapInuse+before.StackInuse)
	return max(used, 0) / float64(m), d / time.Duration(m)
}

// finalize sorts the rows and sets their ratios to the iter.Pull rows.
func finalize(rows []Row) {
	sortRows(rows)
	type key struct {
		c   string
		cos int
	}
	base := map[key]float64{}
	for i := range rows {
		r := &rows[i]
		if r.ImplID == implIterPull && r.Rank == 2*int(implIterPull) && r.Note == "" && r.Ops > 0 {
			base[key{r.Case, r.Cos}] = r.NsPerOp()
		}
	}
	for i := range rows {
		r := &rows[i]
		r.Ratio, r.HasRatio = 0, false
		if b, ok := base[key{r.Case, r.Cos}]; ok && r.Note == "" && r.Ops > 0 && b > 0 {
			r.Ratio, r.HasRatio = r.NsPerOp()/b, true
		}
	}
}

func sortRows(rows []Row) {
	slices.SortStableFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Block, b.Block), cmp.Compare(a.Sub, b.Sub), cmp.Compare(a.Rank, b.Rank))
	})
}
