// Command gen writes aco's context-switch assembly from a typed register
// contract: avo programs for amd64 and a small typed emitter for 386 (which
// avo lacks). It is its own module so that avo never enters the go.sum of a
// program that imports aco. Run it through go generate at the repository
// root.
package main

func main() {}
