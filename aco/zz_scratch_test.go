package aco_test

import (
	"iter"
	"testing"

	"github.com/arkenstone-go/arkenstone/aco"
)

func flat15(yield func(int) bool) {
	for i := 0; i < 15; i++ {
		if !yield(i) {
			return
		}
	}
}

func BenchmarkZZFlat15(b *testing.B) {
	for name, pull := range map[string]func(iter.Seq[int]) (func() (int, bool), func()){"aco": aco.Pull[int], "iter": iter.Pull[int]} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				next, stop := pull(flat15)
				for {
					if _, ok := next(); !ok {
						break
					}
				}
				stop()
			}
		})
	}
}

func BenchmarkZZPullRT(b *testing.B) {
	next, stop := aco.Pull(func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	})
	next()
	for b.Loop() {
		next()
	}
	stop()
}
