package config_test

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasev/datasev/worker/config"
	"github.com/datasev/datasev/worker/service"
)

// TestWorkerRunReadsFile: the worker's Run takes its settings from the file
// DATASEV_CONFIG names: a bad value there stops it, and the file's
// TEMPORAL_ADDRESS is where it dials.
func TestWorkerRunReadsFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("worker: {log_format: xml}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := service.Run(t.Context(), func(k string) string { return map[string]string{config.EnvConfig: bad}[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `DATASEV_LOG_FORMAT="xml"`) {
		t.Fatalf("Run with log_format xml in the file: %v", err)
	}
	// The environment wins over the file.
	err = service.Run(t.Context(), func(k string) string {
		return map[string]string{config.EnvConfig: bad, "DATASEV_LOG_FORMAT": "yaml"}[k]
	}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `DATASEV_LOG_FORMAT="yaml"`) {
		t.Fatalf("Run with the environment's log format: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	good := filepath.Join(dir, "good.yaml")
	body := "temporal: {address: " + ln.Addr().String() + ", namespace: filens}\nworker: {log_format: json}\n"
	if err := os.WriteFile(good, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dialled := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err == nil {
			close(dialled)
			c.Close()
		}
	}()
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, func(k string) string {
			return map[string]string{config.EnvConfig: good, service.EnvSealKeyFile: filepath.Join(dir, "seal.key")}[k]
		}, io.Discard)
	}()
	select {
	case <-dialled:
		cancel()
		<-done
	case err := <-done:
		t.Fatalf("Run returned before dialling the file's address %s: %v", ln.Addr(), err)
	}
}
