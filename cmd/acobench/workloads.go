package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/arkenstone-go/arkenstone/internal/workload"
)

// The workloads section: the generator shapes people write (see package
// internal/workload), each pulled through every implementation, as ns per
// pulled value. The tree walk runs at every even depth from 4 to 20, which
// the depth chart (-depth-svg) plots.

// workloadImpl maps a report implementation to the workload package's.
var workloadImpl = [numImpls]workload.Impl{
	implShareStack: workload.ShareStack,
	implStandalone: workload.Standalone,
	implIterPull:   workload.IterPull,
	implGoroutine:  workload.Chan,
}

// treeDepths are the depths of the tree walk rows.
var treeDepths = []int{4, 6, 8, 10, 12, 14, 16, 18, 20}

// workloadCase is the case name of a workload's rows; a tree walk's depth
// is also kept in the row (StackBytes holds it, for the chart).
func workloadCase(w workload.Workload) string { return "workload: " + w.Name }

// workloads lists the workloads of a run. Those that need files (the
// toolchain's sources) are left out, with a note, when they are missing.
func (c *config) workloads() (ws []workload.Workload, depths []int, notes []string) {
	depths = treeDepths
	nested, actors, send := 1000, 1_000_000, 1000
	if c.quick {
		depths = []int{4, 10, 16}
		nested, actors = 200, 10_000
	}
	if c.fixedOps > 0 {
		depths = []int{4}
		nested, actors, send = 20, 100, 10
	}
	for _, d := range depths {
		ws = append(ws, workload.Tree(d))
	}
	if w, err := workload.Inspect(workload.SourceFile()); err == nil {
		ws = append(ws, w)
	} else {
		notes = append(notes, "go/ast.Inspect workload left out: "+err.Error())
	}
	if c.fixedOps == 0 {
		if w, err := workload.WalkDir(workload.GoSrc()); err == nil {
			ws = append(ws, w)
		} else {
			notes = append(notes, "filepath.WalkDir workload left out: "+err.Error())
		}
	}
	ws = append(ws, workload.Nested(nested), workload.Actors(actors), workload.Send(send))
	return ws, depths, notes
}

// measureWorkload runs passes of w through id for about the target time
// (at least one pass) and returns the row: ns per pulled value.
func (c *config) measureWorkload(id implID, w workload.Workload, depth, block, sub int) Row {
	step, stop := w.Start(workloadImpl[id])
	defer stop()
	values := step() // warm: frame layouts, goroutine pool, caches
	values = 0
	t0 := time.Now()
	for passes := 0; ; passes++ {
		values += step()
		if c.fixedOps > 0 || time.Since(t0) >= c.target {
			break
		}
	}
	d := time.Since(t0)
	r := c.row(id, kindWorkload, 1, 0, int64(values), d, block, sub)
	r.Case = workloadCase(w)
	r.Depth = depth
	if strings.Contains(w.Name, "actors") {
		r.Cos = actorsOf(w)
	}
	return r
}

// actorsOf reads the actor count out of an actors workload's name.
func actorsOf(w workload.Workload) int {
	var n int
	fmt.Sscanf(w.Name, "%d", &n)
	return max(n, 1)
}
