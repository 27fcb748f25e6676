package main

import (
	"os"
	"runtime"
	"strings"
)

// Under a user-mode emulator (qemu-user running an arm64 build on an
// x86-64 machine, as CI tests arm64) every timing measures the emulator,
// not aco. The report then still runs every case, which checks that they
// work, but shows no timing: each row says it was emulated. The emulator
// translates the system calls that name the machine (uname says aarch64),
// but passes the kernel's own architecture through in
// /proc/sys/kernel/arch, while the build's is runtime.GOARCH.

// kernelArches are the GOARCHes each kernel architecture runs natively.
var kernelArches = map[string][]string{
	"x86_64":  {"amd64", "386"},
	"i386":    {"386"},
	"i586":    {"386"},
	"i686":    {"386"},
	"aarch64": {"arm64"},
}

// emulatedOn reports whether a goarch build runs emulated on a kernel of
// architecture kernel. A kernel architecture not in the table is taken as
// native: the report would rather show a timing it cannot vouch for than
// hide a real one.
func emulatedOn(kernel, goarch string) bool {
	native, known := kernelArches[kernel]
	if !known {
		return false
	}
	for _, a := range native {
		if a == goarch {
			return false
		}
	}
	return true
}

// kernelArch is the kernel's architecture, or "" if it cannot be read.
func kernelArch() string {
	b, err := os.ReadFile("/proc/sys/kernel/arch")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// emulatedKernel is the kernel's architecture if this process runs
// emulated, else "". Tests set it to see the report as an emulated run
// shows it.
var emulatedKernel = func() string {
	if k := kernelArch(); emulatedOn(k, runtime.GOARCH) {
		return k
	}
	return ""
}()

// noteEmulated is the note of every row of an emulated run.
const noteEmulated = "not timed: emulated"

// markEmulated turns the measured rows into rows that only say they ran:
// no operation count, time or ratio is shown for them.
func markEmulated(rows []Row) {
	for i := range rows {
		if r := &rows[i]; r.Note == "" {
			r.Note, r.Total, r.Ratio, r.HasRatio = noteEmulated, 0, 0, false
		}
	}
}

// emulatedHeader is the report's line on an emulated run.
func emulatedHeader(kernel string) string {
	return "timing: none - this " + runtime.GOARCH + " build runs under emulation on an " + kernel + " kernel, which would time the emulator; every case ran (a correctness check), no timing is shown"
}
