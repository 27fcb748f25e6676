package aco

import (
	"fmt"
	"iter"
	"testing"

	"github.com/stretchr/testify/assert"
)

type pullFunc func(seq iter.Seq[int]) (func() (int, bool), func())

// pullImpls are the implementations held to iter.Pull's behaviour.
var pullImpls = map[string]pullFunc{
	"Pull":              Pull[int],
	"PullOn standalone": func(seq iter.Seq[int]) (func() (int, bool), func()) { return PullOn(nil, seq) },
	"PullOn sharestack": func(seq iter.Seq[int]) (func() (int, bool), func()) { return PullOn(NewShareStack(0), seq) },
}

// pullTrace drives a pull iterator through ops ('n' = next, 's' = stop) and
// records what happens, panics included.
func pullTrace(pull pullFunc, seq iter.Seq[int], ops string) []string {
	var out []string
	next, stop := pull(func(yield func(int) bool) {
		defer func() { out = append(out, "seq deferred") }()
		seq(func(v int) bool {
			ok := yield(v)
			out = append(out, fmt.Sprint("yield returned ", ok))
			return ok
		})
	})
	for _, op := range ops {
		func() {
			defer func() {
				if r := recover(); r != nil {
					out = append(out, fmt.Sprint("panic ", r))
				}
			}()
			switch op {
			case 'n':
				v, ok := next()
				out = append(out, fmt.Sprint("next ", v, " ", ok))
			case 's':
				stop()
				out = append(out, "stopped")
			}
		}()
	}
	return out
}

func TestPullMatchesIterPull(t *testing.T) {
	seqs := map[string]iter.Seq[int]{
		"empty": func(yield func(int) bool) {},
		"three": func(yield func(int) bool) {
			for i := 1; i <= 3; i++ {
				if !yield(i) {
					return
				}
			}
		},
		"ignores false": func(yield func(int) bool) {
			for i := 1; i <= 3; i++ {
				yield(i)
			}
		},
		"panics": func(yield func(int) bool) {
			yield(1)
			panic("seq failed")
		},
		"nested": func(yield func(int) bool) {
			inner, stop := iter.Pull(func(y func(int) bool) { y(10); y(20) })
			defer stop()
			for {
				v, ok := inner()
				if !ok || !yield(v) {
					return
				}
			}
		},
	}
	opss := []string{"", "n", "nn", "nnnnn", "s", "ns", "nsn", "nnss", "snn", "nnnns"}
	for name, seq := range seqs {
		for _, ops := range opss {
			want := pullTrace(iter.Pull[int], seq, ops)
			for impl, pull := range pullImpls {
				got := pullTrace(pull, seq, ops)
				assert.Equal(t, want, got, "%s on seq %q with ops %q", impl, name, ops)
			}
		}
	}
}

func TestPull2(t *testing.T) {
	seq := func(yield func(string, int) bool) {
		_ = yield("a", 1) && yield("b", 2)
	}
	for _, ss := range []*ShareStack{nil, NewShareStack(0)} {
		next, stop := Pull2On(ss, seq)
		k, v, ok := next()
		assert.Equal(t, []any{"a", 1, true}, []any{k, v, ok})
		k, v, ok = next()
		assert.Equal(t, []any{"b", 2, true}, []any{k, v, ok})
		k, v, ok = next()
		assert.Equal(t, []any{"", 0, false}, []any{k, v, ok})
		stop()
		if ss != nil {
			assert.Equal(t, 0, ss.Live(), "an ended iterator no longer counts on its share stack")
			ss.Destroy()
		}
	}
	next, stop := Pull2(seq)
	k, _, _ := next()
	assert.Equal(t, "a", k)
	stop()
}

func TestPullShareStackCounts(t *testing.T) {
	ss := NewShareStack(0)
	next, stop := PullOn(ss, func(yield func(int) bool) { yield(1) })
	assert.Equal(t, 1, ss.Live())
	assert.Equal(t, "aco: Destroy of a share stack that still has live coroutines (destroy them first)", catch(ss.Destroy))
	next()
	stop()
	assert.Equal(t, 0, ss.Live())
	ss.Destroy()
}

func TestPullManyInterleaved(t *testing.T) {
	// Many iterators on one share stack, pulled in turn (never nested).
	ss := NewShareStack(0)
	const n = 100
	nexts := make([]func() (int, bool), n)
	for i := range nexts {
		nexts[i], _ = PullOn(ss, func(yield func(int) bool) {
			for j := 0; j < 10; j++ {
				if !yield(i*100 + j) {
					return
				}
			}
		})
	}
	for j := 0; j < 11; j++ {
		for i, next := range nexts {
			v, ok := next()
			if j < 10 {
				assert.True(t, ok)
				assert.Equal(t, i*100+j, v)
			} else {
				assert.False(t, ok)
			}
		}
	}
	assert.Equal(t, 0, ss.Live())
	ss.Destroy()
}
