package aco

// EngineName names an engine that runs share-stack coroutines.
type EngineName string

// The engines.
const (
	// Portable runs every coroutine on a goroutine of its own, switched
	// through the runtime's coroutine support (the mechanism of iter.Pull).
	// It works on every platform and under the race detector.
	Portable EngineName = "portable"
	// CopyStack runs share-stack coroutines on the resuming goroutine's own
	// stack and copies their frames to the save stack at every yield.
	CopyStack EngineName = "copystack"
)

// Engine reports the engine that runs share-stack coroutines in this
// process. Standalone coroutines always run on the portable engine.
func Engine() EngineName {
	if copyStackOn {
		return CopyStack
	}
	return Portable
}

// EngineNote explains the choice of engine: empty when the copy-stack engine
// is active, otherwise why it is not (platform, release, race detector,
// ACO_ENGINE=portable, or a failed self-test).
func EngineNote() string {
	if copyStackOn {
		return ""
	}
	return engineReason
}

// MoveThreshold is the size, in bytes, of the frames live at a yield above
// which the copy-stack engine moves a share-stack co onto a goroutine of its
// own (see [Co.Moved]). A copy-stack switch copies those frames out at the
// yield and back in at the resume, and scans them for pointers; the
// portable engine's switch costs the same whatever the depth. Frames that
// change from one yield to the next (a recursive generator) are scanned one
// by one, which costs about as much as copying [MoveWalkFrameBytes] more
// bytes each, and count so. Measured on the machine of the benchmark report
// (see the README), the two switches cost the same at about this size.
const MoveThreshold = 512

// MoveWalkFrameBytes is what each frame of a yield whose frames changed
// since the co's last yields adds to its size, for [MoveThreshold].
const MoveWalkFrameBytes = 48
