package incident

import (
	"testing"

	"github.com/datasev/datasev/workflows"
)

// Every act the CLI and the UI offer has a check and an effect, and no
// other act is taken.
func TestEveryActHasAKind(t *testing.T) {
	for _, name := range workflows.ActNames {
		k, ok := actKinds[name]
		if !ok || k.check == nil || k.apply == nil {
			t.Errorf("act %q has no check and effect in actKinds", name)
		}
	}
	if len(actKinds) != len(workflows.ActNames) {
		t.Errorf("actKinds has %d acts, workflows.ActNames %d", len(actKinds), len(workflows.ActNames))
	}
}
