package intake_test

import (
	"encoding/json"
	"net/http"
	"os"
)

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }

func decodeBody(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
