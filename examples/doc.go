// Package examples holds libaco's synopsis and tutorials as runnable
// programs: go run ./examples/tutorial0, and so on. Each is generated from
// the Example function of the same name in package aco, whose output go test
// checks; examples_test.go checks that the programs are up to date and print
// the same output.
package examples

//go:generate go run gen_examples.go
