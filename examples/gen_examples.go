//go:build ignore

// gen_examples writes examples/<name>/main.go, one runnable program per
// Example function in aco/example_test.go, from the playable form go/doc
// builds for it. Run it with go generate in examples/.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/arkenstone-go/arkenstone/examples/internal/playable"
)

func main() {
	progs, err := playable.Programs("../aco")
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range progs {
		dir := p.Dir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), p.Source, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
