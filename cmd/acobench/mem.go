package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

const (
	// iterPullBytesPerCo is the resident memory of one suspended iter.Pull
	// coroutine (about 2.74 GB per million, measured with Go 1.26).
	iterPullBytesPerCo = 2800
	// memLimit is the most -mem lets the coroutines take.
	memLimit = 16e9
	// memCheckAt is how many coroutines -mem creates before it checks how
	// much they take and extrapolates to N.
	memCheckAt = 100_000
)

// runMem holds n suspended coroutines of implementation id (each resumed
// once, so suspended at its first yield) and reports the resident memory
// they take, read from the operating system after a GC, minus a baseline
// taken before creating them. Nothing is held per coroutine but the
// coroutine itself (*aco.Co; next and stop for iter.Pull; the channel for a
// goroutine) in one slice.
func runMem(w, errw io.Writer, n int, id implID) error {
	if n <= 0 {
		return fmt.Errorf("-mem %d: want a positive number of coroutines", n)
	}
	if id == implIterPull && float64(n)*iterPullBytesPerCo > memLimit {
		return fmt.Errorf("-mem %d -mem-impl iterpull refused: at about %d bytes per iter.Pull coroutine that needs %s, more than the %s limit",
			n, iterPullBytesPerCo, human(float64(n)*iterPullBytesPerCo), human(memLimit))
	}
	limit := float64(memLimit)
	if avail, ok := memAvailable(); ok {
		limit = min(limit, 0.9*avail)
	}
	m := newMeta()
	fmt.Fprintf(w, "aco %s memory report (libaco %s semantics), engine %s, %s, %s %s/%s, CPU %s, %s\n",
		m.Version, m.Libaco, m.Engine, m.FPU, m.GoVersion, m.GOOS, m.GOARCH, m.CPU, m.Date.UTC().Format("Mon Jan 2 15:04:05 UTC 2006"))
	if emulatedKernel != "" {
		fmt.Fprintf(w, "note: this %s build runs under emulation on a %s kernel: the resident memory includes the emulator's own, the Go heap figures do not\n", runtime.GOARCH, emulatedKernel)
	}

	var ms0, ms1 runtime.MemStats
	runtime.GC()
	debug.FreeOSMemory()
	rss0, rssOK := residentBytes()
	runtime.ReadMemStats(&ms0)

	p := newProgress(errw, "")
	g := newGroup(id, 0, n)
	t0 := time.Now()
	for done := 0; done < n; {
		chunk := min(n-done, max(n/20, 10_000))
		if done == 0 && n > memCheckAt {
			chunk = memCheckAt
		}
		g.create(chunk)
		done += chunk
		p.show(fmt.Sprintf("-mem: %d/%d %s coroutines created", done, n, id))
		if done == memCheckAt && n > memCheckAt && rssOK {
			if rss, ok := residentBytes(); ok {
				est := float64(rss-rss0) / float64(done) * float64(n)
				if est > limit {
					p.clear()
					g.destroy()
					return fmt.Errorf("-mem %d -mem-impl %s refused: the first %d coroutines took %s, so %d would take about %s,"+
						" more than the limit of %s (16 GB or 90%% of the available memory)",
						n, implKeys[id], done, human(float64(rss-rss0)), n, human(est), human(limit))
				}
			}
		}
	}
	dCreate := time.Since(t0)
	p.clear()
	if g.size() != n {
		return fmt.Errorf("-mem: created %d coroutines, want %d", g.size(), n)
	}
	state := ""
	if ag, ok := g.(*acoGroup); ok {
		for _, co := range []int{0, n / 2, n - 1} {
			if ag.cos[co].IsEnd() {
				return errors.New("-mem: a coroutine has ended; it should be suspended")
			}
		}
		state = ag.cos[n-1].String()
	}

	runtime.GC()
	debug.FreeOSMemory()
	rss1, _ := residentBytes()
	runtime.ReadMemStats(&ms1)

	fmt.Fprintf(w, "%d suspended coroutines: %s", n, id)
	if id.isAco() {
		fmt.Fprintf(w, " (engine %s)", id.engine())
	}
	fmt.Fprint(w, ", each resumed once and suspended at its first yield")
	if state != "" {
		fmt.Fprintf(w, " (last one: %s)", state)
	}
	fmt.Fprintln(w)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-31s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	line("create + first resume", "%.3f s (%.0f ns per co)", dCreate.Seconds(), float64(dCreate.Nanoseconds())/float64(n))
	if rssOK {
		d := float64(rss1) - float64(rss0)
		line("resident memory (VmRSS)", "baseline %s, with the coroutines %s", human(float64(rss0)), human(float64(rss1)))
		line("per coroutine", "%.0f B (VmRSS delta / N; includes the slice slot holding each)", d/float64(n))
		line("total", "%s (VmRSS delta)", human(d))
	} else {
		line("resident memory", "unknown (no /proc/self/status or /proc/self/statm on %s)", runtime.GOOS)
	}
	heap := float64(ms1.HeapInuse) - float64(ms0.HeapInuse)
	stk := float64(ms1.StackInuse) - float64(ms0.StackInuse)
	line("Go heap in use (HeapInuse)", "%s (delta %s, %.0f B per co)", human(float64(ms1.HeapInuse)), human(heap), heap/float64(n))
	line("goroutine stacks (StackInuse)", "%s (delta %s, %.0f B per co)", human(float64(ms1.StackInuse)), human(stk), stk/float64(n))
	line("for comparison", "libaco's README publishes 10M share-stack cos in 2.8 GB (with tcmalloc, 120-byte save stacks)")

	t0 = time.Now()
	g.destroy()
	line("destroy", "%.3f s", time.Since(t0).Seconds())
	return nil
}

// residentBytes returns the process's resident set size from
// /proc/self/status (VmRSS) or /proc/self/statm.
func residentBytes() (int64, bool) {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		if v, ok := procField(b, "VmRSS:"); ok {
			return v, true
		}
	}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 2 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return pages * int64(os.Getpagesize()), true
			}
		}
	}
	return 0, false
}

// memAvailable returns MemAvailable from /proc/meminfo.
func memAvailable() (float64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	v, ok := procField(b, "MemAvailable:")
	return float64(v), ok
}

// procField parses a "Name:   123 kB" line of a /proc file into bytes.
func procField(b []byte, name string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == name {
			v, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, false
			}
			if len(f) >= 3 && strings.EqualFold(f[2], "kB") {
				v *= 1024
			}
			return v, true
		}
	}
	return 0, false
}

// human writes a byte count in decimal units.
func human(b float64) string {
	switch a := max(b, -b); {
	case a >= 1e9:
		return fmt.Sprintf("%.2f GB", b/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.1f MB", b/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}
