package lineage_test

import (
	"testing"

	"github.com/datasev/datasev/activities/actions/lineage"
)

func TestCacheOptionsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	o, err := lineage.CacheOptionsFromEnv(env(nil))
	if err != nil || o.Entries != 0 || o.MaxBytes != 0 {
		t.Errorf("unset: %+v %v", o, err)
	}
	o, err = lineage.CacheOptionsFromEnv(env(map[string]string{lineage.EnvCacheEntries: "8", lineage.EnvMaxBytes: "500MB"}))
	if err != nil || o.Entries != 8 || o.MaxBytes != 500<<20 {
		t.Errorf("set: %+v %v", o, err)
	}
	o, err = lineage.CacheOptionsFromEnv(env(map[string]string{lineage.EnvMaxBytes: "2048"}))
	if err != nil || o.MaxBytes != 2048 {
		t.Errorf("bytes: %+v %v", o, err)
	}
	for k, v := range map[string]string{lineage.EnvCacheEntries: "0", lineage.EnvMaxBytes: "lots"} {
		if _, err := lineage.CacheOptionsFromEnv(env(map[string]string{k: v})); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
	if _, err := lineage.CacheOptionsFromEnv(env(map[string]string{lineage.EnvCacheEntries: "x"})); err == nil {
		t.Error("entries x accepted")
	}
}
