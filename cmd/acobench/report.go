package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/arkenstone-go/arkenstone/aco"
)

// meta describes the run: the report's header and the SVG's title.
type meta struct {
	Version   string
	Libaco    string
	Engine    string
	GoVersion string
	GOOS      string
	GOARCH    string
	Procs     int
	CPU       string
	FPU       string
	Date      time.Time
	Other     string // the other FPU variant's rows: a note on how they went
	StackCos  int
	Notes     []string // more notes for the report (workloads left out)
}

func newMeta() meta {
	return meta{
		Version:   aco.Version,
		Libaco:    aco.LibacoVersion,
		Engine:    string(aco.Engine()),
		GoVersion: runtime.Version(),
		GOOS:      runtime.GOOS,
		GOARCH:    runtime.GOARCH,
		Procs:     runtime.GOMAXPROCS(0),
		CPU:       cpuName(),
		FPU:       fpuVariant(sharedFPUEnv),
		Date:      time.Now(),
	}
}

// fpuVariant names a build's FPU/MXCSR variant.
func fpuVariant(shared bool) string {
	if shared {
		return "shared FPU env"
	}
	return "per-co FPU env"
}

// cpuName reads the CPU model from /proc/cpuinfo where there is one.
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			switch strings.TrimSpace(k) {
			case "model name", "Model", "cpu model", "uarch":
				if v = strings.TrimSpace(v); v != "" {
					return v
				}
			}
		}
	}
	return "unknown"
}

func (m *meta) writeHeader(w io.Writer) {
	fmt.Fprintf(w, "aco %s benchmark report (libaco %s semantics)\n", m.Version, m.Libaco)
	fmt.Fprintf(w, "engine: %s (share-stack and standalone coroutines)\n", m.Engine)
	if v := os.Getenv("ACO_MOVE_THRESHOLD"); v != "" {
		// The package read it at init: the rows are not the default policy's.
		fmt.Fprintf(w, "moves:  ACO_MOVE_THRESHOLD=%s (not the default policy)\n", v)
	}
	if sharedFPUEnv {
		fmt.Fprintf(w, "build:  %s (built with -tags %s)\n", m.FPU, fpuTag)
	} else {
		fmt.Fprintf(w, "build:  %s (default build, without -tags %s)\n", m.FPU, fpuTag)
	}
	if m.Other != "" {
		fmt.Fprintf(w, "        %s\n", m.Other)
	}
	fmt.Fprintf(w, "go:     %s %s/%s, GOMAXPROCS=%d\n", m.GoVersion, m.GOOS, m.GOARCH, m.Procs)
	fmt.Fprintf(w, "cpu:    %s\n", m.CPU)
	fmt.Fprintf(w, "date:   %s\n", m.Date.UTC().Format("Mon Jan 2 15:04:05 UTC 2006"))
	if emulatedKernel != "" {
		fmt.Fprintln(w, emulatedHeader(emulatedKernel))
	}
}

// Table columns. The cells of a row are never empty and contain no run of
// two spaces, so a table line splits into its cells at runs of two or more
// spaces.
var tableHead = []string{"case", "impl", "task amount (cos)", "ops", "total time", "ns/op", "op/s", "vs iter.Pull"}

// cells renders a row's table cells.
func cells(r *Row) []string {
	if r.Note != "" {
		return []string{r.Case, r.Impl, fmt.Sprint(r.Cos), "-", "-", "-", "-", r.Note}
	}
	ratio := "-"
	if r.HasRatio {
		ratio = fmt.Sprintf("%.2fx", r.Ratio)
	}
	ns := r.NsPerOp()
	return []string{
		r.Case, r.Impl, fmt.Sprint(r.Cos), fmt.Sprint(r.Ops),
		fmt.Sprintf("%.3f s", r.Total.Seconds()),
		fmt.Sprintf("%.2f", ns),
		fmt.Sprintf("%.0f", 1e9/ns),
		ratio,
	}
}

// writeTable writes the aligned table (rows must be finalized), a blank line
// between blocks, then notes explaining the cases.
func writeTable(w io.Writer, rows []Row, m *meta) {
	var lines [][]string
	lines = append(lines, tableHead)
	for i := range rows {
		lines = append(lines, cells(&rows[i]))
	}
	width := make([]int, len(tableHead))
	for _, l := range lines {
		for i, c := range l {
			width[i] = max(width[i], len(c))
		}
	}
	// Text columns and notes are aligned left, numbers right.
	format := func(l []string, note bool) string {
		var b strings.Builder
		for i, c := range l {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-len(c))
			if i < 2 || note && i == len(l)-1 {
				b.WriteString(c)
				if i < len(l)-1 {
					b.WriteString(pad)
				}
			} else {
				b.WriteString(pad + c)
			}
		}
		return b.String()
	}
	fmt.Fprintln(w, format(lines[0], false))
	for i := range rows {
		if i > 0 && rows[i].Block != rows[i-1].Block {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, format(lines[i+1], rows[i].Note != ""))
	}
	fmt.Fprintln(w)
	writeNotes(w, rows, m)
}

func writeNotes(w io.Writer, rows []Row, m *meta) {
	fmt.Fprintln(w, "notes:")
	notes := []string{
		"create+first resume: aco.Create(main, ss, 64, fn, nil) then Resume (libaco's aco_create/init_save_stk_sz=64B);" +
			" iter.Pull: iter.Pull + first next(); goroutine+channel: go + first round trip.",
		"destroy: Destroy of a suspended co (it is unwound); iter.Pull: stop(); goroutine+channel: close(in) + wait for the goroutine's exit.",
		"create+resume+destroy: the three for one co at a time, in a loop.",
		"round trip: one resume + one yield (iter.Pull: next(); goroutine+channel: send + receive); task amount cos in round robin;" +
			" the body is for { co.Yield() }.",
		fmt.Sprintf("round trip, live stack KB: %d cos in round robin; the body runs a function whose frame holds a K-byte array"+
			" written before the first yield and read after every yield.", m.StackCos),
		"vs iter.Pull: ns/op divided by the ns/op of the iter.Pull row of the same case and task amount in this run; - when there is none.",
		"skipped: memory: goroutine+channel runs up to 100K cos and iter.Pull up to 1M; a block is also skipped when a probe of a few" +
			" thousand cos estimates it beyond the memory budget (-mem-budget, default 5 GB). skipped: time: the block's estimated time" +
			" exceeds the time budget.",
		"Before the first many-co block of an implementation whose cos are goroutines, as many goroutines are started and ended," +
			" so that the runtime's goroutine pool is as warm for it as for the next ones.",
		"workload: the generator shapes of package internal/workload, each pulled through aco.Pull (share stack), aco.PullOn(nil, seq)" +
			" (\"aco standalone\": iter.Pull behind aco's guard), iter.Pull and a goroutine over channels; ops are pulled values, ns/op is per value, a pass creates its iterator" +
			" (actors: n iterators created once, a pass resumes each once). tree walk: in-order walk of a complete binary tree, whose" +
			" yields take 2^depth distinct call paths. aco.Pull moves a co whose yields keep costing more than a goroutine switch onto" +
			" a goroutine of its own (aco.MoveThreshold).",
	}
	notes = append(notes, m.Notes...)
	var copies []string
	for i := range rows {
		r := &rows[i]
		if r.Kind == kindLiveStack && r.ImplID == implShareStack && r.CopyBytes > 0 && r.Rank == 2*int(implShareStack) {
			copies = append(copies, fmt.Sprintf("%dB: %d", r.StackBytes, r.CopyBytes))
		}
	}
	if len(copies) > 0 {
		notes = append(notes, "aco share-stack bytes copied per yield (SaveStack().MaxCopySize), by live stack: "+strings.Join(copies, ", ")+".")
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

// jsonRow is one line of -json output. ratio_vs_iter_pull is null when the
// run has no iter.Pull row for the same case and task amount.
type jsonRow struct {
	Case            string   `json:"case"`
	Impl            string   `json:"impl"`
	Engine          string   `json:"engine"`
	Cos             int      `json:"cos"`
	StackBytes      int      `json:"stack_bytes"`
	Ops             int64    `json:"ops"`
	NsPerOp         float64  `json:"ns_per_op"`
	RatioVsIterPull *float64 `json:"ratio_vs_iter_pull"`
}

// writeJSON writes one JSON object per measured row (rows must be
// finalized). Rows not measured (skipped or failed) are not written.
func writeJSON(w io.Writer, rows []Row) error {
	enc := json.NewEncoder(w)
	for i := range rows {
		r := &rows[i]
		if r.Note != "" {
			continue
		}
		j := jsonRow{
			Case: r.Case, Impl: r.Impl, Engine: r.Engine, Cos: r.Cos,
			StackBytes: r.StackBytes, Ops: r.Ops, NsPerOp: r.NsPerOp(),
		}
		if r.HasRatio {
			ratio := r.Ratio
			j.RatioVsIterPull = &ratio
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return nil
}
