//go:build linux && (amd64 || 386 || arm64) && go1.26 && !go1.28 && !race

package aco

import (
	"debug/dwarf"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRuntimeLayoutDWARF checks the committed runtime layout table against
// the DWARF of a program built by the toolchain under test, for this GOARCH
// (go test strips its own binary's DWARF): a table that does not fit this
// Go release or GOARCH fails here, in CI, before it can corrupt anything.
func TestRuntimeLayoutDWARF(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	require.NoError(t, os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644))
	exe := filepath.Join(dir, "probe")
	out, err := exec.Command("go", "build", "-o", exe, src).CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, err := elf.Open(exe)
	require.NoError(t, err)
	defer f.Close()
	d, err := f.DWARF()
	require.NoError(t, err)
	want := map[string]map[string]uintptr{
		"runtime.g":                  {"stack": rtGStack, "_panic": rtGPanic, "_defer": rtGDefer, "m": rtGM},
		"runtime.stack":              {"lo": rtStackLo, "hi": rtStackHi},
		"runtime.m":                  {"lockedExt": rtMLockedExt, "lockedInt": rtMLockedInt},
		"runtime._panic":             {"link": rtPanicLink},
		"runtime.reflectMethodValue": {"fn": rtReflectMethodValueFn, "stack": rtReflectMethodValueStack, "argLen": rtReflectMethodValueArgLen},
		"runtime.bitvector":          {"n": rtBitvectorN, "bytedata": rtBitvectorBytedata},
		"internal/abi.RegArgs":       {"Ptrs": rtRegArgsPtrs, "ReturnIsPtr": rtRegArgsReturnIsPtr},
		"runtime._defer":             {"heap": rtDeferHeap, "rangefunc": rtDeferRangefunc, "sp": rtDeferSp, "pc": rtDeferPc, "fn": rtDeferFn, "link": rtDeferLink, "head": rtDeferHead},
		"runtime._func": {"entryOff": rtFuncEntryOff, "args": rtFuncArgs, "deferreturn": rtFuncDeferreturn, "pcsp": rtFuncPcsp, "npcdata": rtFuncNpcdata,
			"funcID": rtFuncFuncID, "flag": rtFuncFlag, "nfuncdata": rtFuncNfuncdata},
		"runtime.moduledata": {"pctab": rtModuledataPctab, "text": rtModuledataText, "rodata": rtModuledataRodata, "gofunc": rtModuledataGofunc},
	}
	sizes := map[string]uintptr{"runtime._func": rtFuncSize, "runtime._defer": rtDeferSize, "internal/abi.RegArgs": rtRegArgsSize}
	found := map[string]bool{}
	r := d.Reader()
	for {
		e, err := r.Next()
		require.NoError(t, err)
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagStructType {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		fields, ok := want[name]
		if !ok || found[name] {
			r.SkipChildren()
			continue
		}
		found[name] = true
		if size, ok := sizes[name]; ok {
			got, _ := e.Val(dwarf.AttrByteSize).(int64)
			require.EqualValues(t, size, got, "size of %s", name)
		}
		have := map[string]int64{}
		for {
			c, err := r.Next()
			require.NoError(t, err)
			if c == nil || c.Tag == 0 {
				break
			}
			if c.Tag == dwarf.TagMember {
				n, _ := c.Val(dwarf.AttrName).(string)
				off, _ := c.Val(dwarf.AttrDataMemberLoc).(int64)
				have[n] = off
			}
		}
		for field, off := range fields {
			got, ok := have[field]
			require.True(t, ok, "%s has no field %s in %s", name, field, runtime.Version())
			require.EqualValues(t, off, got, "offset of %s.%s in %s %s", name, field, runtime.Version(), runtime.GOARCH)
		}
	}
	for name := range want {
		require.True(t, found[name], "DWARF has no %s", name)
	}
	// The tables also serve the portable engine's misuse checks where the
	// copy-stack engine is not built (arm64 so far).
	if os.Getenv("ACO_ENGINE") == "" && copyStackSupported {
		require.Equal(t, CopyStack, Engine(), "the self-test accepted the table: %s", EngineNote())
	}
}
