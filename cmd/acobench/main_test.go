package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tinyRun measures every case with tiny operation counts, plus the key
// cases again as if from the other FPU variant, and returns the finalized
// rows.
func tinyRun(t *testing.T) []Row {
	t.Helper()
	c := config{
		fixedOps:  20,
		counts:    []int{30},
		stackCos:  4,
		sizes:     []int{0, 120, 7992},
		impls:     []implID{implShareStack, implStandalone, implIterPull, implGoroutine},
		memBudget: 1 << 40,
		maxBlock:  time.Hour,
		deadline:  time.Now().Add(time.Hour),
	}
	c.caps[implGoroutine] = 10 // so that its block is skipped
	rows := measure(&c, false, nil)
	c.label, c.rank = " (other FPU env)", 1
	rows = append(rows, measure(&c, true, nil)...)
	finalize(rows)
	return rows
}

var cellSep = regexp.MustCompile(`\s{2,}`)

// parseTable returns the cells of the table's rows (not the header).
func parseTable(t *testing.T, out string) [][]string {
	t.Helper()
	var rows [][]string
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "case "):
			got := cellSep.Split(line, -1)
			if !slices.Equal(got, tableHead) {
				t.Fatalf("table head %q, want %q", got, tableHead)
			}
			in = true
		case line == "notes:":
			in = false
		case in && line != "":
			rows = append(rows, cellSep.Split(strings.TrimSpace(line), -1))
		}
	}
	return rows
}

func TestJSONMatchesTable(t *testing.T) {
	rows := tinyRun(t)
	m := newMeta()
	m.StackCos = 4
	var tb, jb bytes.Buffer
	writeTable(&tb, rows, &m)
	if err := writeJSON(&jb, rows); err != nil {
		t.Fatal(err)
	}
	table := parseTable(t, tb.String())
	if len(table) != len(rows) {
		t.Fatalf("table has %d rows, want %d:\n%s", len(table), len(rows), tb.String())
	}

	want := []string{"case", "impl", "engine", "cos", "stack_bytes", "ops", "ns_per_op", "ratio_vs_iter_pull"}
	var js []map[string]any
	dec := json.NewDecoder(&jb)
	for dec.More() {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if w := slices.Sorted(slices.Values(want)); !slices.Equal(keys, w) {
			t.Fatalf("JSON row has fields %q, want exactly %q", keys, w)
		}
		js = append(js, obj)
	}

	skipped, ratios, other := 0, 0, 0
	ji := 0
	for i, cells := range table {
		if len(cells) != len(tableHead) {
			t.Fatalf("table row %d has %d cells: %q", i, len(cells), cells)
		}
		if strings.HasPrefix(cells[7], "skipped: ") {
			skipped++
			if rows[i].Note != cells[7] {
				t.Errorf("table row %q is skipped, its row is not", cells)
			}
			continue
		}
		if ji >= len(js) {
			t.Fatalf("more measured table rows than JSON rows")
		}
		j := js[ji]
		ji++
		ns := j["ns_per_op"].(float64)
		got := []string{
			j["case"].(string), j["impl"].(string),
			strconv.FormatFloat(j["cos"].(float64), 'f', -1, 64),
			strconv.FormatFloat(j["ops"].(float64), 'f', -1, 64),
			cells[4],
			fmt.Sprintf("%.2f", ns),
			fmt.Sprintf("%.0f", 1e9/ns),
			"-",
		}
		if r, ok := j["ratio_vs_iter_pull"].(float64); ok {
			got[7] = fmt.Sprintf("%.2fx", r)
			ratios++
		} else if j["ratio_vs_iter_pull"] != nil {
			t.Errorf("ratio_vs_iter_pull is %v, want a number or null", j["ratio_vs_iter_pull"])
		}
		if !slices.Equal(got, cells) {
			t.Errorf("JSON row %v renders as\n%q, the table has\n%q", j, got, cells)
		}
		if strings.Contains(j["impl"].(string), "(other FPU env)") {
			other++
		}
		if sb := j["stack_bytes"].(float64); strings.HasPrefix(cells[0], "round trip, live stack") {
			if want := fmt.Sprintf("round trip, live stack %.0fB", sb); cells[0] != want {
				t.Errorf("case %q has stack_bytes %v", cells[0], sb)
			}
		} else if sb != 0 {
			t.Errorf("case %q has stack_bytes %v, want 0", cells[0], sb)
		}
		if e := j["engine"].(string); e == "" {
			t.Errorf("row %v has an empty engine", j)
		}
	}
	if ji != len(js) {
		t.Errorf("%d JSON rows, %d measured table rows", len(js), ji)
	}
	// The goroutine+channel block of 30 cos is skipped (cap 10): three
	// skipped rows in the table, none in the JSON.
	if skipped != 3 {
		t.Errorf("%d skipped rows, want 3", skipped)
	}
	if ratios == 0 || other != 4 {
		t.Errorf("%d rows with a ratio, %d rows of the other variant; want some and 4", ratios, other)
	}
}

func TestRatios(t *testing.T) {
	rows := []Row{
		{Case: "round trip", Impl: "aco share-stack", ImplID: implShareStack, Cos: 1, Ops: 10, Total: 50},
		{Case: "round trip", Impl: "iter.Pull", ImplID: implIterPull, Rank: 4, Cos: 1, Ops: 10, Total: 100},
		{Case: "round trip", Impl: "aco share-stack", ImplID: implShareStack, Cos: 2, Ops: 10, Total: 50, Block: 1},
		{Case: "round trip", Impl: "iter.Pull", ImplID: implIterPull, Rank: 4, Cos: 2, Block: 1, Note: "skipped: memory"},
	}
	finalize(rows)
	if !rows[0].HasRatio || rows[0].Ratio != 0.5 {
		t.Errorf("ratio %v %v, want 0.5", rows[0].HasRatio, rows[0].Ratio)
	}
	if !rows[1].HasRatio || rows[1].Ratio != 1 {
		t.Errorf("iter.Pull's own ratio %v %v, want 1", rows[1].HasRatio, rows[1].Ratio)
	}
	if rows[2].HasRatio || rows[3].HasRatio {
		t.Errorf("rows without a measured iter.Pull peer have a ratio")
	}
	var b bytes.Buffer
	if err := writeJSON(&b, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], `"ratio_vs_iter_pull":null`) {
		t.Errorf("JSON:\n%s\nwant 3 rows (the skipped one left out), the last with a null ratio", b.String())
	}
}

func TestSVG(t *testing.T) {
	rows := tinyRun(t)
	m := newMeta()
	m.StackCos = 4
	m.CPU = `Fancy <CPU> & "Co"`
	var b bytes.Buffer
	if err := writeSVG(&b, rows, &m); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	paths, root := 0, ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "path" {
				paths++
			}
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	impls := map[string]bool{}
	for _, r := range rows {
		if r.Kind == kindLiveStack && r.Note == "" {
			impls[r.Impl] = true
		}
	}
	if len(impls) != 4 || paths != len(impls) {
		t.Errorf("%d paths for %d implementations, want one each (4)", paths, len(impls))
	}
}

func TestMemRefusesHugeIterPull(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-mem", "10000000", "-mem-impl", "iterpull"}, &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "refused") {
		t.Errorf("exit %d, stderr %q; want a refusal", code, errOut.String())
	}
}

func TestMemSmall(t *testing.T) {
	for _, impl := range []string{"sharestack", "standalone", "iterpull", "chan"} {
		var out, errOut bytes.Buffer
		if code := run([]string{"-mem", "1000", "-mem-impl", impl}, &out, &errOut); code != 0 {
			t.Fatalf("-mem-impl %s: exit %d: %s", impl, code, errOut.String())
		}
		_, rss := residentBytes()
		if rss && !strings.Contains(out.String(), "per coroutine:") || !strings.Contains(out.String(), "HeapInuse") {
			t.Errorf("-mem-impl %s output:\n%s", impl, out.String())
		}
	}
}

func TestPanicMarksRowsFailed(t *testing.T) {
	c := defaultConfig(true)
	tk := task{
		what: "boom",
		run:  func() []Row { panic("engine  broke\ndown") },
		fail: func(note string) []Row { return c.blockNoted(implShareStack, 10, 1, note) },
	}
	var errw bytes.Buffer
	rows := runTask(tk, &errw)
	if len(rows) != 3 || rows[0].Note != "failed: panic: engine broke down" {
		t.Fatalf("rows %+v", rows)
	}
	if !strings.Contains(errw.String(), "boom: panic: engine") {
		t.Errorf("stderr %q does not report the panic", errw.String())
	}
	finalize(rows)
	var tb, jb bytes.Buffer
	writeTable(&tb, rows, &meta{})
	if err := writeJSON(&jb, rows); err != nil || jb.Len() != 0 {
		t.Errorf("JSON of failed rows: %q, %v", jb.String(), err)
	}
	for _, cells := range parseTable(t, tb.String()) {
		if cells[7] != rows[0].Note {
			t.Errorf("table row %q, want the note in the last cell", cells)
		}
	}
}

// libacoSample has the shape of libaco's test_aco_benchmark output: a
// warm-up, build lines, then timed rows (numbers made up for the test).
const libacoSample = `warm-up:
aco_create/init_save_stk_sz=64B                        2000000     0.270 s      999.00 ns/op    7412571.42 op/s

+build:x86_64
+build:-DACO_CONFIG_SHARE_FPU_MXCSR_ENV

start-test:

comment                                                task_amount      all_time_cost          ns_per_op             speed

aco_create/init_save_stk_sz=64B                              1     0.000 s      557.00 ns/op    1795332.07 op/s
aco_resume/co_amount=1/copy_stack_size=0B             20000000     0.411 s       20.00 ns/op   48657561.12 op/s
  -> acosw                                            40000000     0.411 s       10.00 ns/op   97315122.25 op/s
aco_resume/co_amount=1/copy_stack_size=0B             20000000     0.411 s       22.00 ns/op   48657561.12 op/s
aco_create/init_save_stk_sz=64B                        2000000     0.115 s      100.00 ns/op   17395859.34 op/s
aco_resume/co_amount=2000000/copy_stack_size=24B      20000000     0.710 s       40.00 ns/op   28178326.31 op/s
aco_resume/co_amount=2000000/copy_stack_size=8B       20000000     0.710 s       30.00 ns/op   28178326.31 op/s
aco_resume/co_amount=2000000/copy_stack_size=8B       20000000     0.710 s       34.00 ns/op   28178326.31 op/s
aco_resume/co_amount=2000000/copy_stack_size=8B       20000000     0.710 s       50.00 ns/op   28178326.31 op/s
aco_destroy                                            2000000     0.053 s       25.00 ns/op   37742179.06 op/s
`

// TestCompareWithLibaco checks -compare's reading of libaco's output (the
// warm-up and its one-co create left out, medians of the repeats, the build
// variant) and its pairing with aco's rows: the one-co round trip with the
// row of the same FPU variant, the many-co rows only with this build's.
func TestCompareWithLibaco(t *testing.T) {
	for _, cShared := range []bool{sharedFPUEnv, !sharedFPUEnv} {
		sample := libacoSample
		if !cShared {
			sample = strings.Replace(sample, "+build:-DACO_CONFIG_SHARE_FPU_MXCSR_ENV\n", "", 1)
		}
		run, err := parseLibaco("sample", strings.NewReader(sample))
		if err != nil {
			t.Fatal(err)
		}
		if run.sharedEnv != cShared {
			t.Errorf("build variant read as shared=%v, want %v", run.sharedEnv, cShared)
		}
		env := fpuVariant(cShared)
		one := implShareStack.String()
		if cShared != sharedFPUEnv {
			one += " (" + env + ")"
		}
		row := func(cs string, cos int, impl string, ns int64) Row {
			return Row{Case: cs, Cos: cos, Impl: impl, Ops: 1000, Total: time.Duration(ns * 1000)}
		}
		rows := []Row{
			row("round trip", 1, one, 42),
			row("round trip", 1, implShareStack.String()+" (something else)", 1),
			row("round trip", 2000000, implShareStack.String(), 66),
			row("create+first resume", 2000000, implShareStack.String(), 390),
			row("destroy", 2000000, implShareStack.String(), 50),
		}
		var got []string
		for _, c := range compareRows(run, rows) {
			aco := "-"
			if c.aco != nil {
				aco = fmt.Sprintf("%.0f", c.aco.NsPerOp())
			}
			got = append(got, fmt.Sprintf("%s|%d|%.0f|%d|%s|%s", c.what, c.cos, c.c.ns, c.c.n, aco, c.cNote))
		}
		many := map[bool][3]string{
			true:  {"66|", "390|", "50|"},
			false: {"-|aco runs its many-co blocks in its " + fpuVariant(sharedFPUEnv) + " build only", "-|", "-|"},
		}[cShared == sharedFPUEnv]
		want := []string{
			"round trip, 0 B copied (" + env + ")|1|21|2|42|",
			"round trip, 8 B copied (" + env + ")|2000000|34|3|" + many[0],
			"round trip, 24 B copied (" + env + ")|2000000|40|1|" + many[0],
			"create+first resume|2000000|134|1|" + many[1] + "create + resume/co_amount=2000000/copy_stack_size=8B",
			"destroy|2000000|25|1|" + many[2],
		}
		if !slices.Equal(got, want) {
			t.Errorf("libaco shared=%v: comparison:\n%s\nwant:\n%s", cShared, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		var b bytes.Buffer
		writeComparison(&b, run, rows)
		if !strings.Contains(b.String(), "2.00x") { // 42 ns against libaco's 21
			t.Errorf("no 2.00x ratio in:\n%s", b.String())
		}
	}
	if _, err := parseLibaco("empty", strings.NewReader("nothing here\n")); err == nil {
		t.Error("a file without libaco's rows was accepted")
	}
}

func TestEmulatedOn(t *testing.T) {
	for _, c := range []struct {
		kernel, goarch string
		want           bool
	}{
		{"x86_64", "arm64", true},
		{"x86_64", "amd64", false},
		{"x86_64", "386", false},
		{"i686", "amd64", true},
		{"aarch64", "arm64", false},
		{"aarch64", "amd64", true},
		{"", "arm64", false},        // unreadable: taken as native
		{"riscv64", "arm64", false}, // unknown: taken as native
	} {
		if got := emulatedOn(c.kernel, c.goarch); got != c.want {
			t.Errorf("emulatedOn(%q, %q) = %v, want %v", c.kernel, c.goarch, got, c.want)
		}
	}
}

// TestEmulationDetected checks the detection where CI runs this test: an
// arm64 build under qemu-user on an x86-64 kernel.
func TestEmulationDetected(t *testing.T) {
	k := kernelArch()
	if k == "" {
		t.Skip("no /proc/sys/kernel/arch here")
	}
	want := ""
	if runtime.GOARCH == "arm64" && k != "aarch64" || runtime.GOARCH != "arm64" && k == "aarch64" {
		want = k
	}
	if emulatedKernel != want {
		t.Errorf("a %s build on a %s kernel: emulatedKernel %q, want %q", runtime.GOARCH, k, emulatedKernel, want)
	}
}

// TestEmulatedReportShowsNoTiming: an emulated run's table has every case,
// each with the note instead of numbers, and the header says why; the
// options that would print timings in other forms are refused.
func TestEmulatedReportShowsNoTiming(t *testing.T) {
	defer func(k string) { emulatedKernel = k }(emulatedKernel)
	emulatedKernel = "x86_64"
	rows := tinyRun(t)
	markEmulated(rows)
	var out bytes.Buffer
	m := newMeta()
	m.writeHeader(&out)
	writeTable(&out, rows, &m)
	if !strings.Contains(out.String(), "timing: none") {
		t.Errorf("header does not say the run was not timed:\n%s", out.String())
	}
	table := parseTable(t, out.String())
	if len(table) != len(rows) {
		t.Fatalf("%d table rows, want %d", len(table), len(rows))
	}
	for _, cells := range table {
		if cells[4] != "-" || cells[5] != "-" || cells[6] != "-" || !strings.HasPrefix(cells[7], "not timed") && !strings.HasPrefix(cells[7], "skipped") {
			t.Errorf("emulated row shows numbers: %q", cells)
		}
	}
	for _, args := range [][]string{{"-json"}, {"-svg", t.TempDir() + "/x.svg"}, {"-depth-svg", t.TempDir() + "/d.svg"}} {
		var o, e bytes.Buffer
		if code := run(args, &o, &e); code != 2 || !strings.Contains(e.String(), "emulation") {
			t.Errorf("acobench %q emulated: exit %d, stderr %q; want it refused", args, code, e.String())
		}
	}
}

// TestCalibrateMedian: a stall during one timed call of a one-coroutine
// row, the calibrating call included, does not become the row.
func TestCalibrateMedian(t *testing.T) {
	c := config{target: time.Millisecond}
	calls := 0
	n, d := c.calibrateMedian(func(n int) {
		calls++
		if calls == 1 || calls == 5 {
			time.Sleep(40 * time.Millisecond) // a stall
		} else {
			time.Sleep(time.Millisecond)
		}
	})
	if n != 1 || calls != 1+keyRuns {
		t.Fatalf("n = %d after %d calls, want 1 after %d", n, calls, 1+keyRuns)
	}
	if d >= 15*time.Millisecond {
		t.Errorf("duration %v: a stalled call became the row", d)
	}
}
