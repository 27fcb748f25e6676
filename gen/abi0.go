package main

// ABI0 frame arithmetic: where the arguments and results of a signature
// live, and the frame sizes and stack deltas the switch routines have.

import (
	"fmt"
	"go/types"
)

// ABI0 layout of a signature: arguments from offset 0, results from the
// next word boundary, as cmd/compile lays them out.
type abi0 struct {
	offs  map[string]int64 // by name; results without a name are "ret", "ret1", ...
	size  int64
	order []string
}

func (a *Arch) abi0(s *types.Signature) abi0 {
	l := abi0{offs: map[string]int64{}}
	var off int64
	add := func(t *types.Tuple, dflt string) {
		for i := 0; i < t.Len(); i++ {
			v := t.At(i)
			off = align(off, a.Sizes.Alignof(v.Type()))
			name := v.Name()
			if name == "" {
				name = dflt
				if i > 0 {
					name += fmt.Sprint(i)
				}
			}
			l.offs[name] = off
			l.order = append(l.order, name)
			off += a.Sizes.Sizeof(v.Type())
		}
	}
	add(s.Params(), "arg")
	off = align(off, a.Word)
	add(s.Results(), "ret")
	l.size = align(off, a.Word)
	return l
}

func (l abi0) off(name string) int64 {
	o, ok := l.offs[name]
	if !ok {
		panic("no argument " + name)
	}
	return o
}

func align(x, n int64) int64 { return (x + n - 1) / n * n }

// frameSize is the size of d's frame: room for the arguments of the
// functions it calls.
func (a *Arch) frameSize(d *Decl) int64 {
	var n int64
	for _, c := range d.Calls {
		n = max(n, a.abi0(c.Sig).size)
	}
	return n
}

// TrampFrame is the trampoline's frame, as offsets from its SP (hi), which
// swapout uses to return through it.
type TrampFrame struct {
	Size   int64 // its locals: the outgoing arguments
	Locks  int64 // the thread's lock counts at resume (8 bytes), after coEntry's argument
	BP     int64 // the saved frame pointer (amd64): where the trampoline's BP points
	RetPC  int64 // its return address
	Args   int64 // its arguments: its caller's SP after the return
	Result int64 // its result
}

func (a *Arch) trampFrame() TrampFrame {
	f := TrampFrame{Size: a.frameSize(dTrampoline), Locks: a.abi0(coEntry.Sig).size}
	if f.Locks+8 > f.Size {
		panic(fmt.Sprintf("%s: no room for the lock counts in the trampoline's %d-byte frame", a.GOARCH, f.Size))
	}
	f.BP = f.Size
	f.RetPC = f.Size
	if a.FramePointer {
		f.RetPC += a.Word
	} else {
		f.BP = 0 // no frame pointer: the trampoline's "frame pointer" is its SP
	}
	f.Args = f.RetPC + a.Word
	f.Result = f.Args + a.abi0(dTrampoline.Sig).off("ret")
	return f
}
