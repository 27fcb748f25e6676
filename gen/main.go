// Command gen writes aco's context-switch assembly from a typed register
// contract: avo programs for amd64 and a small typed emitter for 386 (which
// avo lacks). It is its own module so that avo never enters the go.sum of a
// program that imports aco. Run it through go generate at the repository
// root; aco/generate.go runs
//
//	go run -C ../gen . -out ../aco
//
// It writes, into the -out directory:
//
//	zswitch.go                   swctx, tbpOffset, frame sizes, declarations
//	zswitch_amd64.s              the switch, each co with its own FPU environment
//	zswitch_sharedfpu_amd64.s    the same with -tags aco_share_fpu_env
//	zswitch_386.s                as zswitch_amd64.s, for 386
//	zswitch_sharedfpu_386.s      as zswitch_sharedfpu_amd64.s, for 386
//	zgetg_{amd64,386,arm64}.s    getg, also under the race detector
//
// The contract (contract.go, with the declarations in decls.go and the
// frames in abi0.go) is the single source: the registers a switch
// keeps and those it may clobber, the word size, the layout of swctx, the
// frames of the routines and the offsets derived from them, the FPU control
// words. Both emitters read it, and the generator checks every routine
// against it: only a switch may write SP, BP or the ABIInternal registers,
// everything else it writes must be scratch.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
)

// generatedBy names the generator in the files' "Code generated" line.
const generatedBy = "gen/switch_gen.go"

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	// A flag set of our own: importing avo's build package registers its
	// command-line flags on the default one.
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	out := fs.String("out", "../aco", "the `directory` of package aco")
	fs.Parse(os.Args[1:])
	files, err := generate()
	if err != nil {
		log.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(*out, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// generate returns the generated files by name.
func generate() (map[string][]byte, error) {
	for _, a := range arches {
		if err := a.validate(); err != nil {
			return nil, err
		}
		if err := checkFPU(a); err != nil {
			return nil, err
		}
	}
	files := map[string][]byte{}
	src, err := goDecls()
	if err != nil {
		return nil, fmt.Errorf("zswitch.go: %v", err)
	}
	files["zswitch.go"] = src
	for _, shared := range []bool{false, true} {
		variant := ""
		if shared {
			variant = "_sharedfpu"
		}
		s, err := asmAMD64File(shared)
		if err != nil {
			return nil, fmt.Errorf("amd64: %v", err)
		}
		files["zswitch"+variant+"_amd64.s"] = s
		if s, err = asm386File(shared); err != nil {
			return nil, fmt.Errorf("386: %v", err)
		}
		files["zswitch"+variant+"_386.s"] = s
	}
	if files["zgetg_amd64.s"], err = getgAMD64File(); err != nil {
		return nil, fmt.Errorf("amd64 getg: %v", err)
	}
	if files["zgetg_386.s"], err = getg386File(); err != nil {
		return nil, fmt.Errorf("386 getg: %v", err)
	}
	if files["zgetg_arm64.s"], err = getgARM64File(); err != nil {
		return nil, fmt.Errorf("arm64 getg: %v", err)
	}
	return files, nil
}
