//go:build cgo

package aco

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Yielding across a cgo callback: C frames cannot be copied out of the
// goroutine stack (copy-stack) nor switched away from while the thread is
// locked to the callback (portable), so Yield from Go code that C called
// back must panic with an aco: message.
//
// Test files cannot use cgo, so the row builds a small cgo program (in a
// temporary module that uses this module through a replace directive) in
// which a co calls a C function that calls an exported Go function that
// calls co.Yield(); the program prints what the Yield panicked with and
// whether the package still works afterwards (a fresh co resumed through a
// yield to its end, on the same main co and share stack). The program runs
// with this process's environment (ACO_ENGINE, GOTOOLCHAIN) and is built with
// -race when this test binary is.

const mcCgoRow = "yield across a cgo callback"

func init() {
	mcRows = append(mcRows, mcRow{mcCgoRow, "aco: Yield inside a cgo callback", false, mcCgoCallback})
	mcPrepare[mcCgoRow] = mcCgoBuild
}

const mcCgoMain = `package main

/*
extern void acoTestCallback(void);
static void callIntoGo(void) { acoTestCallback(); }
*/
import "C"

import (
	"fmt"
	"os"

	"github.com/arkenstone-go/arkenstone/aco"
)

var cur *aco.Co
var result = "the callback did not run"

//export acoTestCallback
func acoTestCallback() {
	defer func() {
		switch r := recover().(type) {
		case nil:
		case string:
			result = "panic: " + r
		default:
			result = fmt.Sprintf("non-string panic: %T %v", r, r)
		}
	}()
	cur.Yield()
	result = "no panic"
}

func main() {
	m := aco.NewMain()
	var ss *aco.ShareStack
	if os.Args[1] == "sharestack" {
		ss = aco.NewShareStack(0)
	}
	co := aco.Create(m, ss, 0, func(co *aco.Co) {
		cur = co
		C.callIntoGo()
	}, nil)
	co.Resume()
	for i := 0; i < 3 && !co.IsEnd(); i++ {
		co.Resume()
	}
	fmt.Println("result:", result)
	fmt.Println("ended:", co.IsEnd())
	co.Destroy()

	n := 0
	h := aco.Create(m, ss, 0, func(co *aco.Co) {
		n++
		co.Yield()
		n++
	}, nil)
	h.Resume()
	h.Resume()
	fmt.Println("healthy:", h.IsEnd() && n == 2)
	h.Destroy()
	if ss != nil {
		ss.Destroy()
	}
	m.Destroy()
	fmt.Println("engine:", aco.Engine())
}
`

// mcCgoBins holds the program built for each subtest (kind).
var mcCgoBins sync.Map // *testing.T -> string

// mcCgoBuild builds the cgo program into the subtest's temporary directory
// (the second build comes from the build cache).
func mcCgoBuild(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is needed to build the cgo program: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mod := "module acocgotest\n\ngo 1.26.0\n\nrequire github.com/arkenstone-go/arkenstone v0.0.0\n\n" +
		"replace github.com/arkenstone-go/arkenstone => " + root + "\n"
	for name, data := range map[string][]byte{"go.mod": []byte(mod), "go.sum": sum, "main.go": []byte(mcCgoMain)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "cgoprog")
	args := []string{"build", "-mod=mod", "-o", bin}
	if raceNote != "" {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the cgo program: %v\n%s", err, out)
	}
	mcCgoBins.Store(t, bin)
	t.Cleanup(func() { mcCgoBins.Delete(t) })
}

// mcCgoCallback runs the cgo program for e's kind and reports what its
// Yield panicked with.
func mcCgoCallback(t *testing.T, e *env) mcOut {
	kind := "standalone"
	if e.ss != nil {
		kind = "sharestack"
	}
	ctx, cancel := context.WithTimeout(context.Background(), mcTimeout-time.Second)
	defer cancel()
	bin, ok := mcCgoBins.Load(t)
	if !ok {
		return mcOut{note: "the cgo program was not built"}
	}
	cmd := childCommand(ctx, bin.(string), kind)
	if e.portable {
		// The program's standalone co on the portable engine, as the
		// env's cos are.
		cmd.Env = append(os.Environ(), "ACO_ENGINE=portable")
	}
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	field := func(name string) string {
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, name+": "); ok {
				return v
			}
		}
		return ""
	}
	switch {
	case ctx.Err() != nil:
		return mcOut{note: "the cgo program hung:\n" + mcHead(out, 24)}
	case err != nil:
		return mcOut{note: fmt.Sprintf("the cgo program failed (%v): %s\n%s", err, mcLine(out, "fatal error:"), mcHead(out, 24))}
	}
	var res mcOut
	switch r := field("result"); {
	case strings.HasPrefix(r, "panic: "):
		res = mcOut{v: strings.TrimPrefix(r, "panic: "), panicked: true}
	case r == "no panic":
	default:
		res = mcOut{v: r, panicked: true}
	}
	var notes []string
	if field("ended") != "true" {
		notes = append(notes, "the co calling back did not end")
	}
	if field("healthy") != "true" {
		notes = append(notes, "the package was not usable afterwards in the cgo program")
	}
	res.note = strings.Join(notes, "; ")
	return res
}
