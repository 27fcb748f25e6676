package aco

// The context switch (zswitch_*.s) and its Go declarations (zswitch.go) are
// generated from the register contract in the gen module, a module of its
// own so that avo stays out of importers' go.sum.

//go:generate go run -C ../gen . -out ../aco
