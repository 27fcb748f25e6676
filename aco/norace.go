//go:build !race

package aco

const raceNote = ""
