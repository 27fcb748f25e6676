package aco

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
)

// Stack describes where co is, in the form runtime.Stack gives a
// goroutine's stack: a header line, then for each frame of a suspended
// coroutine its function and file:line, from the innermost (the yield) to
// the coroutine's function. The runtime's own dumps (runtime.Stack, the
// goroutine profile, a crash) list goroutines only, so a coroutine
// suspended on a share stack appears in none of them.
//
// Stack holds a suspended coroutine while it reads it: a Resume, Destroy or
// Reset on another goroutine meanwhile waits until it is done (for a
// coroutine on a goroutine of its own, Stack reads it with
// runtime.Stack(buf, true), which stops the world briefly). Stack costs
// nothing to coroutines that are not being dumped.
func (co *Co) Stack() []byte {
	var b bytes.Buffer
	co.writeStack(&b)
	return b.Bytes()
}

// WriteStacks writes the Stack of every live coroutine of the main co m, in
// the order they were created, each followed by a blank line: a dump of
// where all of them are, as the goroutine profile at debug=2 is for
// goroutines. As for creating and destroying them, the caller must not
// create or destroy coroutines of m on another goroutine meanwhile.
func (m *Co) WriteStacks(w io.Writer) error {
	if m == nil || m.state() != stMain {
		panic("aco: WriteStacks of a co that is not a main co (it writes the stacks of a main co's coroutines)")
	}
	var b bytes.Buffer
	for _, co := range m.x.kids.cos {
		if co == nil { // destroyed
			continue
		}
		co.writeStack(&b)
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeStack writes co's Stack to b.
func (co *Co) writeStack(b *bytes.Buffer) {
	if co == nil {
		b.WriteString("coroutine nil\n")
		return
	}
	var s state
	for {
		s = co.state()
		if s != stSuspended && s != stInit {
			// Nothing to read, or nothing Stack may read: a running
			// co's frames are its goroutine's.
			if s == stYielding {
				s = stRunning // its resumer is not back from the switch yet
			}
			fmt.Fprintf(b, "coroutine %p [%s]:\n", co, s)
			if s == stRunning {
				b.WriteString("\t(running: its frames are on the stack of the goroutine that runs it)\n")
			}
			return
		}
		if co.hold(s, stReading) {
			break
		}
	}
	defer co.st.Store(uint32(s)) // hand it back; a waiting Resume goes on
	where := s.String()
	switch {
	case co.moved():
		where += ", moved to a goroutine"
	case co.copyStack() && co.Standalone():
		where += ", standalone"
	case co.copyStack():
		where += ", share stack"
	case co.ss != nil && !co.Standalone():
		where += ", share stack, portable engine"
	default:
		where += ", standalone"
	}
	fmt.Fprintf(b, "coroutine %p [%s]:\n", co, where)
	if s == stInit {
		fmt.Fprintf(b, "\t(not started: it will run %s)\n", fnName(co.fn))
		return
	}
	var frames []frameLine
	if co.copyStack() {
		frames = pcFrames(co.imagePCs())
	} else {
		frames = co.goroutineFrames()
	}
	frames = trimFrames(frames)
	if len(frames) == 0 {
		b.WriteString("\t(its frames cannot be read on this platform)\n")
		return
	}
	for _, f := range frames {
		fmt.Fprintf(b, "%s(...)\n\t%s:%d\n", f.fn, f.file, f.line)
	}
}

// frameLine is one frame of a Stack.
type frameLine struct {
	fn, file string
	line     int
}

// pcFrames symbolizes the continuation PCs of a saved image, inlined calls
// expanded, as runtime.Stack does.
func pcFrames(pcs []uintptr) []frameLine {
	var out []frameLine
	if len(pcs) == 0 {
		return nil
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		out = append(out, frameLine{f.Function, f.File, f.Line})
		if !more {
			return out
		}
	}
}

// goroutineFrames reads the frames of the goroutine a co of the portable
// engine is parked on, from runtime.Stack of every goroutine: the runtime
// offers no way to read one other goroutine's stack. The caller holds the
// co, so it stays parked.
func (co *Co) goroutineFrames() []frameLine {
	x := co.x
	if x == nil || !rtAvailable {
		return nil
	}
	gp := x.portMem.g.Load()
	if gp == 0 {
		return nil
	}
	head := "goroutine " + strconv.FormatUint(gGoid(gp), 10) + " ["
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	text := string(buf)
	i := strings.Index(text, head)
	if i < 0 {
		return nil
	}
	text = text[i:]
	if j := strings.Index(text, "\n\n"); j >= 0 {
		text = text[:j]
	}
	lines := strings.Split(text, "\n")[1:]
	var out []frameLine
	for k := 0; k+1 < len(lines); k += 2 {
		fn, loc := lines[k], strings.TrimSpace(lines[k+1])
		if strings.HasPrefix(fn, "created by ") {
			break
		}
		if p := strings.LastIndexByte(fn, '('); p > 0 {
			fn = fn[:p]
		}
		if p := strings.LastIndex(loc, " +0x"); p > 0 {
			loc = loc[:p]
		}
		file, line := loc, 0
		if p := strings.LastIndexByte(loc, ':'); p > 0 {
			file = loc[:p]
			line, _ = strconv.Atoi(loc[p+1:])
		}
		out = append(out, frameLine{fn, file, line})
	}
	return out
}

// trimFrames keeps the coroutine's own frames: from its yield (the runtime's
// switch and iter.Pull's frames above it left out) down to its function
// (aco's frames that start it, and the goroutine's beneath them, left out).
func trimFrames(fs []frameLine) []frameLine {
	for len(fs) > 0 && (strings.HasPrefix(fs[0].fn, "runtime.") || strings.HasPrefix(fs[0].fn, "iter.")) {
		fs = fs[1:]
	}
	for i, f := range fs {
		if f.fn == acoPkg+".(*Co).run" || f.fn == acoPkg+".coEntry" {
			return fs[:i]
		}
	}
	for len(fs) > 0 && (strings.HasPrefix(fs[len(fs)-1].fn, "runtime.") || strings.HasPrefix(fs[len(fs)-1].fn, "iter.")) {
		fs = fs[:len(fs)-1]
	}
	return fs
}

// acoPkg is this package's path, as function names start with it.
var acoPkg = reflect.TypeFor[Co]().PkgPath()

// fnName is the name of fn's function.
func fnName(fn Func) string {
	if fn == nil {
		return "nil"
	}
	if f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()); f != nil {
		return f.Name()
	}
	return "an unknown function"
}

// waitReading waits while Stack reads the co (stReading): a few
// microseconds on the copy-stack engine.
func (co *Co) waitReading() {
	for co.state() == stReading {
		runtime.Gosched()
	}
}
