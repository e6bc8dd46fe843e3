package service

import (
	"io"
	"path/filepath"
	"testing"
	"time"
)

// The sticky timeout reaches the SDK's worker options; unset, it stays
// zero there, which the SDK reads as its default.
func TestWorkerOptionsSticky(t *testing.T) {
	if got := workerOptions(Config{StickyTimeout: 30 * time.Second}, &countingBackend{}).StickyScheduleToStartTimeout; got != 30*time.Second {
		t.Errorf("StickyScheduleToStartTimeout %s, want 30s", got)
	}
	if got := workerOptions(Config{}, &countingBackend{}).StickyScheduleToStartTimeout; got != 0 {
		t.Errorf("StickyScheduleToStartTimeout %s unset, want 0 (the SDK's default)", got)
	}
}

// Run sizes the process's sticky cache from DATASEV_WORKER_STICKY_CACHE
// before it makes a worker (here it never gets to: nothing listens), and
// leaves the SDK's default alone when it is unset.
func TestRunSizesStickyCache(t *testing.T) {
	var sizes []int
	prev := setStickyCacheSize
	setStickyCacheSize = func(n int) { sizes = append(sizes, n) }
	t.Cleanup(func() { setStickyCacheSize = prev })
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "absent.toml"))
	dir := t.TempDir()
	for _, v := range []string{"25000", ""} {
		env := map[string]string{
			"TEMPORAL_ADDRESS": "127.0.0.1:1", "TEMPORAL_NAMESPACE": "default",
			EnvSealKeyFile: filepath.Join(dir, "seal.key"), EnvStickyCache: v,
		}
		if err := Run(t.Context(), func(k string) string { return env[k] }, io.Discard); err == nil {
			t.Fatal("Run reached a server at 127.0.0.1:1")
		}
	}
	if len(sizes) != 1 || sizes[0] != 25000 {
		t.Errorf("sticky cache sized %v, want once to 25000", sizes)
	}
}
