// Package codec is datasev's optional payload encryption: a Temporal
// PayloadCodec that seals every payload with AES-256-GCM under a keyring
// that supports rotation, and the codec HTTP endpoint through which the
// Temporal UI and CLI show encrypted payloads to those allowed to see them.
//
// # Payload format
//
// Encode marshals the whole original payload (metadata and data, as a
// protobuf message) and seals it with the keyring's active key: a random
// 12-byte nonce per payload, the key ID as additional authenticated data.
// The result is a payload whose data is nonce‖ciphertext‖tag and whose
// metadata is
//
//	encoding:          binary/encrypted
//	encryption-key-id: <key ID>
//
// Decode picks the key by that ID, so after a rotation the old keys (kept in
// the keyring, no longer active) still open old histories. Payloads without
// the binary/encrypted encoding pass through untouched, so histories written
// before encryption was turned on stay readable. An unknown key ID or a
// payload that fails authentication (tampered data, tampered key ID) is an
// error that says which.
//
// # Keys
//
// KeyringFromEnv reads either DATASEV_CODEC_KEYS_FILE — a file with one
// `id:base64key` line per key, `#` comments, the first key (or the one
// whose line ends with the word `active`) encrypting — or a single key in
// DATASEV_CODEC_KEY (base64, 32 bytes) with its ID in DATASEV_CODEC_KEY_ID
// (default "default"). NewKey makes a fresh line for the keys file. To
// rotate: add the new key to the file marked `active`, keep the old lines,
// restart the workers and the codec endpoint. Key material never appears in
// logs: Keyring's String and LogValue show key IDs only.
//
// Wire the codec into every client that reads or writes payloads (worker,
// intake, CLI) with DataConverter, and into failures with FailureConverter
// (so error messages and stack traces are encrypted too).
//
// # Codec endpoint
//
// Handler serves the SDK's remote codec protocol (POST /encode and /decode
// with {"payloads":[...]}, see converter.NewPayloadCodecHTTPHandler) behind
// bearer-token auth, CORS for the Temporal UI's origins and an optional
// namespace check on the X-Namespace header. HandlerOptionsFromEnv reads
// DATASEV_CODEC_AUTH_TOKEN (or DATASEV_CODEC_AUTH_TOKEN_FILE),
// DATASEV_CODEC_CORS_ORIGINS, DATASEV_CODEC_NAMESPACES and
// DATASEV_CODEC_ALLOW_UNAUTHENTICATED.
//
// Point the Temporal UI at the endpoint with
//
//	temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8081
//
// (or the UI server's codec.endpoint setting, TEMPORAL_CODEC_ENDPOINT, or
// the per-browser "Codec Server" setting in the UI), and list the UI's
// origin, e.g. http://127.0.0.1:8233, in DATASEV_CODEC_CORS_ORIGINS: the
// browser calls the endpoint directly. The UI sends X-Namespace and, when
// its codec.passAccessToken setting is on, the signed-in user's
// Authorization header; HandlerOptions.Authorize verifies such tokens. A
// static bearer token suits the CLI:
//
//	temporal workflow show -w ID --codec-endpoint http://127.0.0.1:8081 \
//	    --codec-auth "Bearer $DATASEV_CODEC_AUTH_TOKEN"
//
// The CLI sends X-Namespace too and replaces {namespace} in the endpoint.
package codec
