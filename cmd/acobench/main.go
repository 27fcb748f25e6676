// Command acobench prints libaco's benchmark table for aco, measured in the
// same run as the Go peers a user would otherwise pick: iter.Pull and a
// goroutine with channels.
//
// Usage:
//
//	go run ./cmd/acobench [-quick]
package main

import (
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arkenstone-go/arkenstone/aco"
)

// row is one measured line of the table.
type row struct {
	Case  string
	Impl  string
	Ops   int
	Total time.Duration
}

func (r row) nsPerOp() float64 { return float64(r.Total.Nanoseconds()) / float64(r.Ops) }

func main() {
	quick := flag.Bool("quick", false, "fewer iterations, for a fast look")
	flag.Parse()
	n := 2_000_000
	if *quick {
		n = 200_000
	}
	fmt.Printf("aco %s (libaco %s semantics), engine %s, %s %s/%s, %s\n\n",
		aco.Version, aco.LibacoVersion, aco.Engine(), runtime.Version(), runtime.GOOS, runtime.GOARCH, cpuName())
	var rows []row
	rows = append(rows, roundTrip(n)...)
	rows = append(rows, createDestroy(n/10)...)
	printTable(os.Stdout, rows)
}

// impl is one way to run a coroutine-like body that yields in a loop.
type impl struct {
	name string
	// start returns a function doing one resume+yield round trip and a
	// function releasing everything.
	start func() (step func(), done func())
}

var impls = []impl{
	{"aco share-stack", func() (func(), func()) {
		m, ss := aco.NewMain(), aco.NewShareStack(0)
		co := aco.Create(m, ss, 0, func(co *aco.Co) {
			for {
				co.Yield()
			}
		}, nil)
		return co.Resume, func() { co.Destroy(); ss.Destroy(); m.Destroy() }
	}},
	{"aco standalone", func() (func(), func()) {
		m := aco.NewMain()
		co := aco.Create(m, nil, 0, func(co *aco.Co) {
			for {
				co.Yield()
			}
		}, nil)
		return co.Resume, func() { co.Destroy(); m.Destroy() }
	}},
	{"iter.Pull", func() (func(), func()) {
		next, stop := iter.Pull(func(yield func(struct{}) bool) {
			for yield(struct{}{}) {
			}
		})
		return func() { next() }, stop
	}},
	{"goroutine+channel", func() (func(), func()) {
		in, out := make(chan struct{}), make(chan struct{})
		go func() {
			for range in {
				out <- struct{}{}
			}
		}()
		return func() { in <- struct{}{}; <-out }, func() { close(in) }
	}},
}

// roundTrip measures one resume+yield round trip of a single coroutine.
func roundTrip(n int) []row {
	var rows []row
	for _, im := range impls {
		step, done := im.start()
		step() // start it
		t0 := time.Now()
		for i := 0; i < n; i++ {
			step()
		}
		el := time.Since(t0)
		done()
		rows = append(rows, row{"resume+yield round trip, 1 co", im.name, n, el})
	}
	return rows
}

// createDestroy measures create + first resume + destroy of one coroutine.
func createDestroy(n int) []row {
	m, ss := aco.NewMain(), aco.NewShareStack(0)
	body := func(co *aco.Co) { co.Yield() }
	measure := func(name string, f func()) row {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			f()
		}
		return row{"create + first resume + destroy", name, n, time.Since(t0)}
	}
	seq := func(yield func(int) bool) { yield(1) }
	rows := []row{
		measure("aco share-stack", func() { co := aco.Create(m, ss, 0, body, nil); co.Resume(); co.Destroy() }),
		measure("aco standalone", func() { co := aco.Create(m, nil, 0, body, nil); co.Resume(); co.Destroy() }),
		measure("iter.Pull", func() { next, stop := iter.Pull(seq); next(); stop() }),
	}
	ss.Destroy()
	m.Destroy()
	return rows
}

func printTable(w io.Writer, rows []row) {
	base := map[string]float64{}
	for _, r := range rows {
		if r.Impl == "iter.Pull" {
			base[r.Case] = r.nsPerOp()
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\timpl\ttask amount\ttotal time\tns/op\top/s\tvs iter.Pull\t")
	for _, r := range rows {
		ratio := "-"
		if b, ok := base[r.Case]; ok && r.Impl != "iter.Pull" {
			ratio = fmt.Sprintf("%.2fx", r.nsPerOp()/b)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.3f s\t%.2f\t%.0f\t%s\t\n", r.Case, r.Impl, r.Ops, r.Total.Seconds(), r.nsPerOp(), 1e9/r.nsPerOp(), ratio)
	}
	tw.Flush()
}

// cpuName reads the CPU model from /proc/cpuinfo where there is one.
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
