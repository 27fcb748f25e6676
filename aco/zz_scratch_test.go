package aco_test

import (
	"iter"
	"testing"
	"time"

	"github.com/arkenstone-go/arkenstone/aco"
)

type tnode struct {
	l, r *tnode
	v    int
}

func mktree(d int, c *int) *tnode {
	if d == 0 {
		return nil
	}
	n := &tnode{}
	n.l = mktree(d-1, c)
	n.v = *c
	*c++
	n.r = mktree(d-1, c)
	return n
}

func (n *tnode) walk(y func(int) bool) bool {
	return n == nil || n.l.walk(y) && y(n.v) && n.r.walk(y)
}

func (n *tnode) all() iter.Seq[int] { return func(y func(int) bool) { n.walk(y) } }

func TestScratchTree(t *testing.T) {
	for _, d := range []int{4, 8, 10, 12} {
		c := 0
		tr := mktree(d, &c)
		for _, im := range []struct {
			name string
			pull func(iter.Seq[int]) (func() (int, bool), func())
		}{{"aco", aco.Pull[int]}, {"iter", iter.Pull[int]}} {
			t0 := time.Now()
			next, stop := im.pull(tr.all())
			k := 0
			for {
				_, ok := next()
				if !ok {
					break
				}
				k++
			}
			stop()
			el := time.Since(t0)
			t.Logf("depth %d %s: %d values %.1f ns/yield", d, im.name, k, float64(el.Nanoseconds())/float64(k))
		}
	}
}

func BenchmarkScratchTree(b *testing.B) {
	c := 0
	tr := mktree(10, &c)
	next, stop := aco.Pull(tr.all())
	for b.Loop() {
		if _, ok := next(); !ok {
			stop()
			next, stop = aco.Pull(tr.all())
		}
	}
	stop()
}
