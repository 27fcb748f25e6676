package main

// -compare FILE: libaco's own benchmark beside aco's. acobench cannot build
// C libaco (aco ships no C code, and a build would need its sources), so the
// user runs libaco's test_aco_benchmark on the same machine, saves what it
// prints, and passes the file; acobench reads libaco's rows and prints each
// beside the aco row that measures the same thing, with the ratio.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// libacoRun is one saved run of libaco's test_aco_benchmark.
type libacoRun struct {
	file      string
	sharedEnv bool // built with -DACO_CONFIG_SHARE_FPU_MXCSR_ENV
	// rows are the timed rows after "start-test:" (the warm-up is left
	// out), by name and task amount, each with the ns/op of every repeat.
	rows map[libacoKey][]float64
}

type libacoKey struct {
	name   string // e.g. aco_resume/co_amount=1/copy_stack_size=0B
	amount int    // libaco's task_amount column
}

// libacoLine is a timed row: comment, task amount, seconds, ns/op, op/s.
var libacoLine = regexp.MustCompile(`^(aco_\S+)\s+(\d+)\s+[0-9.]+ s\s+([0-9.]+) ns/op`)

// parseLibaco reads test_aco_benchmark's output.
func parseLibaco(name string, r io.Reader) (*libacoRun, error) {
	run := &libacoRun{file: name, rows: map[libacoKey][]float64{}}
	started := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "+build:-DACO_CONFIG_SHARE_FPU_MXCSR_ENV":
			run.sharedEnv = true
		case line == "start-test:":
			started = true
		case started:
			m := libacoLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			amount, err1 := strconv.Atoi(m[2])
			ns, err2 := strconv.ParseFloat(m[3], 64)
			if err1 != nil || err2 != nil {
				continue
			}
			k := libacoKey{m[1], amount}
			run.rows[k] = append(run.rows[k], ns)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(run.rows) == 0 {
		return nil, fmt.Errorf("%s: no rows of libaco's test_aco_benchmark after a \"start-test:\" line", name)
	}
	return run, nil
}

func readLibaco(name string) (*libacoRun, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseLibaco(name, f)
}

// median of xs (which it sorts).
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// cStat is libaco's ns/op for a row: the median of its repeats, and their range.
type cStat struct {
	ns, lo, hi float64
	n          int
}

func (run *libacoRun) stat(k libacoKey) (cStat, bool) {
	xs := slices.Clone(run.rows[k])
	if len(xs) == 0 {
		return cStat{}, false
	}
	m := median(xs)
	return cStat{m, xs[0], xs[len(xs)-1], len(xs)}, true
}

// comparison is one line of the comparison: what libaco measured, and the
// aco row that measures the same.
type comparison struct {
	what  string
	cos   int
	c     cStat
	cNote string
	aco   *Row
}

var resumeName = regexp.MustCompile(`^aco_resume/co_amount=(\d+)/copy_stack_size=(\d+)B$`)

// compareRows pairs libaco's rows with aco's: the round trips (libaco's
// aco_resume: one resume and its yield) by coroutine count, its create
// against aco's create+first resume (libaco's create does not run the co:
// its create+resume is the create plus a resume of the same block), and
// its destroy. libaco's one-co round trip pairs with aco's share-stack row
// of the same FPU variant; the many-co rows only with aco's of the same
// variant too, which this binary's build is (the other build runs only the
// one-co cases).
func compareRows(run *libacoRun, rows []Row) []comparison {
	find := func(cs string, cos int, impl string) *Row {
		for i := range rows {
			r := &rows[i]
			if r.Case == cs && r.Cos == cos && r.Impl == impl && r.Note == "" && r.Ops > 0 {
				return r
			}
		}
		return nil
	}
	env := fpuVariant(run.sharedEnv)
	mainImpl := implShareStack.String()
	oneImpl := mainImpl
	if run.sharedEnv != sharedFPUEnv {
		oneImpl += " (" + env + ")"
	}
	var out []comparison
	var keys []libacoKey
	for k := range run.rows {
		keys = append(keys, k)
	}
	// By task amount, then copy size (numerically), then name.
	size := func(k libacoKey) int {
		if m := resumeName.FindStringSubmatch(k.name); m != nil {
			n, _ := strconv.Atoi(m[2])
			return n
		}
		return -1
	}
	slices.SortFunc(keys, func(a, b libacoKey) int {
		if a.amount != b.amount {
			return a.amount - b.amount
		}
		if sa, sb := size(a), size(b); sa != sb {
			return sa - sb
		}
		return strings.Compare(a.name, b.name)
	})
	// The smallest copy size of each block: the resume paired with its
	// create.
	resumeOf := map[int]libacoKey{}
	for _, k := range keys {
		m := resumeName.FindStringSubmatch(k.name)
		if m == nil {
			continue
		}
		cos, _ := strconv.Atoi(m[1])
		st, _ := run.stat(k)
		what := "round trip, " + m[2] + " B copied (" + env + ")"
		c := comparison{what: what, cos: cos, c: st}
		switch {
		case cos == 1:
			c.aco = find("round trip", cos, oneImpl)
		case run.sharedEnv == sharedFPUEnv:
			c.aco = find("round trip", cos, mainImpl)
		default:
			c.cNote = "aco runs its many-co blocks in its " + fpuVariant(sharedFPUEnv) + " build only"
		}
		out = append(out, c)
		if _, ok := resumeOf[cos]; !ok {
			resumeOf[cos] = k
		}
	}
	for _, k := range keys {
		if k.amount < 1000 {
			continue // libaco's one-co create and destroy are timed once: a few µs of noise
		}
		switch {
		case strings.HasPrefix(k.name, "aco_create/"):
			st, _ := run.stat(k)
			note := "create only"
			if rk, ok := resumeOf[k.amount]; ok {
				r, _ := run.stat(rk)
				st.ns, st.lo, st.hi = st.ns+r.ns, st.lo+r.lo, st.hi+r.hi
				note = "create + " + strings.TrimPrefix(rk.name, "aco_")
			}
			c := comparison{what: "create+first resume", cos: k.amount, c: st, cNote: note}
			if run.sharedEnv == sharedFPUEnv {
				c.aco = find("create+first resume", k.amount, mainImpl)
			}
			out = append(out, c)
		case k.name == "aco_destroy":
			st, _ := run.stat(k)
			c := comparison{what: "destroy", cos: k.amount, c: st}
			if run.sharedEnv == sharedFPUEnv {
				c.aco = find("destroy", k.amount, mainImpl)
			}
			out = append(out, c)
		}
	}
	return out
}

// writeComparison prints the comparison with one libaco run.
func writeComparison(w io.Writer, run *libacoRun, rows []Row) {
	fmt.Fprintf(w, "\ncompared with C libaco: %s (test_aco_benchmark, %s build; median of its repeats, after its warm-up)\n\n", run.file, fpuVariant(run.sharedEnv))
	head := []string{"case", "cos", "libaco ns/op", "repeats (min-max)", "aco ns/op", "aco/libaco", "libaco row"}
	lines := [][]string{head}
	for _, c := range compareRows(run, rows) {
		acoNs, ratio := "-", "-"
		if c.aco != nil {
			ns := c.aco.NsPerOp()
			acoNs = fmt.Sprintf("%.2f", ns)
			if c.c.ns > 0 {
				ratio = fmt.Sprintf("%.2fx", ns/c.c.ns)
			}
		}
		note := c.cNote
		lines = append(lines, []string{
			c.what, strconv.Itoa(c.cos), fmt.Sprintf("%.2f", c.c.ns),
			fmt.Sprintf("%d (%.2f-%.2f)", c.c.n, c.c.lo, c.c.hi), acoNs, ratio, note,
		})
	}
	width := make([]int, len(head))
	for _, l := range lines {
		for i, c := range l {
			width[i] = max(width[i], len(c))
		}
	}
	for _, l := range lines {
		var b strings.Builder
		for i, c := range l {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-len(c))
			if i == 0 || i == len(l)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
