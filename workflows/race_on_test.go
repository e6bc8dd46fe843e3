//go:build race

package workflows_test

// raceDetector is true under -race, where the workflow tests' largest
// scenarios run at a fifth of their size: the detector slows signal-heavy
// tests several times over, and the invariants they check do not depend
// on the size.
const raceDetector = true
