package aco_test

import (
	"strconv"
	"testing"

	"github.com/arkenstone-go/arkenstone/internal/workload"
)

// BenchmarkWorkloads measures the generator shapes Go programmers write
// (see internal/workload), each through aco.Pull, a standalone co,
// iter.Pull and goroutine+channel: ns/op is per pulled value. As the other
// benchmarks, they assert nothing about time; cmd/acobench prints the same
// workloads with their ratios to iter.Pull.
func BenchmarkWorkloads(b *testing.B) {
	var ws []workload.Workload
	for _, d := range []int{4, 6, 8, 10, 16, 20} {
		ws = append(ws, workload.Tree(d))
	}
	if w, err := workload.Inspect(workload.SourceFile()); err == nil {
		ws = append(ws, w)
	}
	if w, err := workload.WalkDir(workload.GoSrc()); err == nil {
		ws = append(ws, w)
	}
	ws = append(ws, workload.Nested(1000), workload.Actors(10_000), workload.Send(1000))
	names := []string{"tree4", "tree6", "tree8", "tree10", "tree16", "tree20", "inspect", "walkdir", "nested", "actors"}
	if len(ws) != len(names) {
		// Inspect or WalkDir found no GOROOT sources: name the rest by
		// their workloads.
		names = names[:0]
		for _, w := range ws {
			names = append(names, w.Name)
		}
	}
	for i, w := range ws {
		b.Run(names[i], func(b *testing.B) {
			for _, impl := range workload.Impls {
				b.Run(implName(impl), func(b *testing.B) {
					step, stop := w.Start(impl)
					values := 0
					b.ResetTimer()
					for b.Loop() {
						values += step()
					}
					b.StopTimer()
					stop()
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(values, 1)), "ns/value")
				})
			}
		})
	}
}

func implName(i workload.Impl) string {
	switch i {
	case workload.ShareStack:
		return "sharestack"
	case workload.Standalone:
		return "standalone"
	case workload.IterPull:
		return "iterpull"
	case workload.Chan:
		return "chan"
	}
	return strconv.Itoa(int(i))
}
