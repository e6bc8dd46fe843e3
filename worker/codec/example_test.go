package codec_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/worker/codec"
)

// Example wires the codec into a Temporal client and serves the codec
// endpoint for the UI and CLI, as the worker and `datasev serve` would.
func Example() {
	kr, on, err := codec.KeyringFromEnv(os.Getenv)
	if err != nil {
		slog.Error("codec keys", "err", err)
		return
	}
	opts := client.Options{HostPort: "127.0.0.1:7233"}
	if on {
		opts.DataConverter = codec.DataConverter(kr)
		opts.FailureConverter = codec.FailureConverter(kr)
		slog.Info("payload encryption on", "keyring", kr) // logs key IDs only

		hopts, err := codec.HandlerOptionsFromEnv(os.Getenv)
		if err != nil {
			slog.Error("codec endpoint", "err", err)
			return
		}
		go func() { _ = http.ListenAndServe("127.0.0.1:8081", codec.Handler(kr, hopts)) }()
	}
	_ = opts // client.Dial(opts)
}

// ExampleNewKey prints a fresh keys-file line (the key differs each run).
func ExampleNewKey() {
	line, err := codec.NewKey()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(line) > 44)
	// Output: true
}
