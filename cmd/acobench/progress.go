package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progress shows what the run is doing on stderr: one line rewritten in
// place on a terminal, one line per step otherwise.
type progress struct {
	w       io.Writer
	tty     bool
	prefix  string
	n, done int
	last    int // length of the line shown on the terminal
}

func newProgress(w io.Writer, prefix string) *progress {
	p := &progress{w: w, prefix: prefix}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// step counts a step and shows it as [done/n] what...
func (p *progress) step(what string) {
	p.done++
	p.show(fmt.Sprintf("[%d/%d] %s...", p.done, p.n, what))
}

func (p *progress) show(line string) {
	if p == nil || p.w == nil {
		return
	}
	line = p.prefix + line
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	pad := ""
	if len(line) < p.last {
		pad = strings.Repeat(" ", p.last-len(line))
	}
	fmt.Fprint(p.w, "\r"+line+pad)
	p.last = len(line)
}

// clear removes the terminal line.
func (p *progress) clear() {
	if p == nil || p.w == nil || !p.tty || p.last == 0 {
		return
	}
	fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.last)+"\r")
	p.last = 0
}
