//go:build race

package aco

const raceNote = " under the race detector"
