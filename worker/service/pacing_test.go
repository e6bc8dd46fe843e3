package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/worker/service"
)

func TestLoadConfigPacing(t *testing.T) {
	isolate(t)
	cfg, err := service.LoadConfig(getenv(map[string]string{notify.EnvPageBurst: "", notify.EnvPageWindow: "", notify.EnvPostBurst: "", notify.EnvPostInterval: ""}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Pacing == nil || cfg.Pacing.NoPages || cfg.Pacing.NoPosts {
		t.Errorf("default: pacing %+v, want pages and posts paced", cfg.Pacing)
	}
	cfg, err = service.LoadConfig(getenv(map[string]string{notify.EnvPageBurst: "4", notify.EnvPageWindow: "10s", notify.EnvPostBurst: "off", notify.EnvPostInterval: ""}))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Pacing; p == nil || p.PageBurst != 4 || p.PageWindow != 10*time.Second || !p.NoPosts {
		t.Errorf("set: pacing %+v", p)
	}
	cfg, err = service.LoadConfig(getenv(map[string]string{notify.EnvPageBurst: "off", notify.EnvPostBurst: "off"}))
	if err != nil || cfg.Pacing != nil {
		t.Errorf("off: pacing %+v, err %v", cfg.Pacing, err)
	}
	if _, err := service.LoadConfig(getenv(map[string]string{notify.EnvPageWindow: "5m"})); err == nil || !strings.Contains(err.Error(), notify.EnvPageWindow) {
		t.Errorf("a window over the bound: %v", err)
	}
}
