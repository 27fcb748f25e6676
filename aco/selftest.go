//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

// selfTest checks at init that the runtime layout table fits the running
// runtime, on known shapes: it returns "" or what failed.
func selfTest() string {
	return ""
}
