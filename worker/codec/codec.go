package codec

import (
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata keys and values of an encrypted payload.
const (
	// EncodingEncrypted is the "encoding" metadata value of a payload
	// this codec sealed.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the metadata key naming the key that sealed the
	// payload.
	MetadataKeyID = "encryption-key-id"
)

// nonceSize is GCM's standard nonce length.
const nonceSize = 12

// Errors Decode wraps; test for them with errors.Is.
var (
	// ErrUnknownKey means a payload names a key the keyring lacks.
	ErrUnknownKey = errors.New("unknown encryption key")
	// ErrTampered means a payload failed authentication: its data or its
	// key ID was altered, or it is not a payload this codec sealed.
	ErrTampered = errors.New("encrypted payload failed authentication")
)

// Codec is a converter.PayloadCodec that seals payloads with the keyring's
// active key (AES-256-GCM) and opens them with the key their metadata
// names. It is safe for concurrent use.
type Codec struct {
	keys *Keyring
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a codec over the keyring, which must not be nil.
func NewCodec(k *Keyring) *Codec { return &Codec{keys: k} }

// Encode seals each payload: the whole payload, marshalled, becomes the
// ciphertext of a new payload whose metadata names the encoding and key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if c == nil || c.keys == nil {
		return nil, errors.New("payload codec: no keyring configured")
	}
	id := c.keys.active
	aead := c.keys.aeads[id]
	if aead == nil {
		return nil, errors.New("payload codec: keyring has no active key (build it with NewKeyring, ParseKeys or KeyringFromEnv)")
	}
	aad := []byte(id)
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		// One buffer: nonce, then the marshalled payload, sealed in place
		// with room for the tag.
		buf := make([]byte, nonceSize, nonceSize+proto.Size(p)+aead.Overhead())
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("payload codec: nonce: %w", err)
		}
		buf, err := proto.MarshalOptions{}.MarshalAppend(buf, p)
		if err != nil {
			return nil, fmt.Errorf("payload codec: marshal payload %d: %w", i, err)
		}
		nonce, plain := buf[:nonceSize], buf[nonceSize:]
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              aad,
			},
			Data: aead.Seal(nonce, nonce, plain, aad),
		}
	}
	return out, nil
}

// Decode opens each encrypted payload with the key its metadata names and
// returns the original payload; payloads that are not encrypted pass
// through unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		if c == nil || c.keys == nil {
			return nil, errors.New("payload codec: payload is encrypted but no keyring is configured")
		}
		dec, err := c.open(p)
		if err != nil {
			return nil, fmt.Errorf("payload codec: payload %d: %w", i, err)
		}
		out[i] = dec
	}
	return out, nil
}

// open decrypts one encrypted payload.
func (c *Codec) open(p *commonpb.Payload) (*commonpb.Payload, error) {
	idb, ok := p.GetMetadata()[MetadataKeyID]
	if !ok || len(idb) == 0 {
		return nil, fmt.Errorf("%w: encrypted payload has no %s metadata", ErrTampered, MetadataKeyID)
	}
	id := string(idb)
	aead, ok := c.keys.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: payload encrypted with key %q, which this keyring does not hold (keys: %v)", ErrUnknownKey, id, c.keys.ids)
	}
	data := p.GetData()
	if len(data) < nonceSize+aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is too short for a sealed payload", ErrTampered, len(data))
	}
	plain, err := aead.Open(nil, data[:nonceSize], data[nonceSize:], idb)
	if err != nil {
		return nil, fmt.Errorf("%w: key %q does not open it (data or key ID altered)", ErrTampered, id)
	}
	var orig commonpb.Payload
	if err := proto.Unmarshal(plain, &orig); err != nil {
		return nil, fmt.Errorf("payload codec: decrypted payload with key %q is not a payload: %w", id, err)
	}
	return &orig, nil
}

// DataConverter returns the SDK's default data converter with the codec
// applied, for client.Options.DataConverter. With a nil keyring (encryption
// not configured) it returns the default data converter as is; it still
// cannot read encrypted payloads, which then stay opaque.
func DataConverter(k *Keyring) converter.DataConverter {
	if k == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(k))
}

// FailureConverter returns the SDK's default failure converter over
// DataConverter(k), with EncodeCommonAttributes on when k is not nil, so
// failure messages and stack traces are encrypted too (the UI decodes them
// through the codec endpoint). Use it for client.Options.FailureConverter.
func FailureConverter(k *Keyring) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          DataConverter(k),
		EncodeCommonAttributes: k != nil,
	})
}
