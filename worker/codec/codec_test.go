package codec_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/datasev/datasev/worker/codec"
)

// keyring builds a keyring of the given IDs with random keys, the first
// active, and returns the raw keys too.
func keyring(t testing.TB, ids ...string) (*codec.Keyring, map[string][]byte) {
	t.Helper()
	keys := map[string][]byte{}
	for _, id := range ids {
		keys[id] = rawKey(t)
	}
	kr, err := codec.NewKeyring(ids[0], keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr, keys
}

type incidentInput struct {
	Service string            `json:"service"`
	Labels  map[string]string `json:"labels"`
}

func TestRoundTripThroughDataConverter(t *testing.T) {
	kr, _ := keyring(t, "k1")
	dc := codec.DataConverter(kr)
	in := incidentInput{Service: "orders-etl SECRET-MARKER", Labels: map[string]string{"table": "fct_orders"}}
	p, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(p.Metadata[converter.MetadataEncoding]); got != codec.EncodingEncrypted {
		t.Fatalf("encoding %q; want %q", got, codec.EncodingEncrypted)
	}
	if got := string(p.Metadata[codec.MetadataKeyID]); got != "k1" {
		t.Fatalf("key id %q; want k1", got)
	}
	if len(p.Metadata) != 2 {
		t.Fatalf("metadata %v; want only encoding and key id (the original encoding is sealed inside)", p.Metadata)
	}
	wire, _ := proto.Marshal(p)
	if bytes.Contains(wire, []byte("SECRET-MARKER")) || bytes.Contains(wire, []byte("json/plain")) {
		t.Fatal("sealed payload shows plaintext")
	}
	var out incidentInput
	if err := dc.FromPayload(p, &out); err != nil {
		t.Fatal(err)
	}
	if out.Service != in.Service || out.Labels["table"] != "fct_orders" {
		t.Fatalf("round trip %+v; want %+v", out, in)
	}

	// The same value seals differently every time (fresh nonce).
	p2, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(p.Data, p2.Data) || bytes.Equal(p.Data[:12], p2.Data[:12]) {
		t.Fatal("two encodings of one value share nonce or ciphertext")
	}
}

func TestEncodePreservesWholePayload(t *testing.T) {
	kr, _ := keyring(t, "k1")
	c := codec.NewCodec(kr)
	orig := []*commonpb.Payload{
		{Metadata: map[string][]byte{"encoding": []byte("json/protobuf"), "messageType": []byte("x.Y")}, Data: []byte(`{"a":1}`)},
		{Metadata: map[string][]byte{"encoding": []byte("binary/null")}},
	}
	enc, err := c.Encode(orig)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(dec) != len(orig) {
		t.Fatalf("%d payloads back; want %d", len(dec), len(orig))
	}
	for i := range orig {
		if !proto.Equal(dec[i], orig[i]) {
			t.Fatalf("payload %d: got %v; want %v", i, dec[i], orig[i])
		}
	}
}

func TestRotationKeepsOldPayloadsReadable(t *testing.T) {
	keys := map[string][]byte{"k1": rawKey(t), "k2": rawKey(t)}
	before, err := codec.NewKeyring("k1", map[string][]byte{"k1": keys["k1"]})
	if err != nil {
		t.Fatal(err)
	}
	old, err := codec.DataConverter(before).ToPayload("written before rotation")
	if err != nil {
		t.Fatal(err)
	}

	// Rotate: the keys file now holds k1 and k2, with k2 active.
	after, err := codec.ParseKeys("keys", strings.NewReader("k1:"+b64(keys["k1"])+"\nk2:"+b64(keys["k2"])+" active\n"))
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.DataConverter(after)
	var s string
	if err := dc.FromPayload(old, &s); err != nil || s != "written before rotation" {
		t.Fatalf("old payload after rotation: %q, %v", s, err)
	}
	fresh, err := dc.ToPayload("written after rotation")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(fresh.Metadata[codec.MetadataKeyID]); got != "k2" {
		t.Fatalf("new payload sealed with %q; want k2", got)
	}
	// The pre-rotation keyring cannot read it: it really is k2's.
	if err := codec.DataConverter(before).FromPayload(fresh, &s); !errors.Is(err, codec.ErrUnknownKey) {
		t.Fatalf("old keyring on new payload: %v; want ErrUnknownKey", err)
	}

	// WithActive rotates an in-memory keyring the same way.
	back, err := after.WithActive("k1")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := codec.DataConverter(back).ToPayload("x")
	if got := string(p.Metadata[codec.MetadataKeyID]); got != "k1" || after.Active() != "k2" {
		t.Fatalf("WithActive: sealed with %q, original active %q; want k1 and k2", got, after.Active())
	}
	if _, err := after.WithActive("k9"); err == nil {
		t.Fatal("WithActive accepted an unknown key")
	}
}

func TestUnknownKeyID(t *testing.T) {
	a, _ := keyring(t, "team-a")
	b, _ := keyring(t, "team-b")
	enc, err := codec.NewCodec(a).Encode([]*commonpb.Payload{{Data: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = codec.NewCodec(b).Decode(enc)
	if !errors.Is(err, codec.ErrUnknownKey) {
		t.Fatalf("err %v; want ErrUnknownKey", err)
	}
	if want := `payload encrypted with key "team-a", which this keyring does not hold`; !strings.Contains(err.Error(), want) {
		t.Fatalf("err %q; want it to contain %q", err, want)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	kr, _ := keyring(t, "k1", "k2")
	c := codec.NewCodec(kr)
	seal := func() *commonpb.Payload {
		enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"approve revert"`)}})
		if err != nil {
			t.Fatal(err)
		}
		return enc[0]
	}
	cases := map[string]func(p *commonpb.Payload){
		"flipped ciphertext bit": func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 },
		"flipped nonce bit":      func(p *commonpb.Payload) { p.Data[0] ^= 0x80 },
		"flipped tag bit":        func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"truncated":              func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"key id swapped (AAD)":   func(p *commonpb.Payload) { p.Metadata[codec.MetadataKeyID] = []byte("k2") },
		"key id removed":         func(p *commonpb.Payload) { delete(p.Metadata, codec.MetadataKeyID) },
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			p := seal()
			if _, err := c.Decode([]*commonpb.Payload{p}); err != nil {
				t.Fatalf("untampered payload: %v", err)
			}
			tamper(p)
			_, err := c.Decode([]*commonpb.Payload{p})
			if !errors.Is(err, codec.ErrTampered) {
				t.Fatalf("err %v; want ErrTampered", err)
			}
		})
	}
}

func TestPlainPayloadsPassThrough(t *testing.T) {
	kr, _ := keyring(t, "k1")
	plainDC := converter.GetDefaultDataConverter()
	p, err := plainDC.ToPayload(map[string]string{"written": "before encryption"})
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := converter.NewZlibCodec(converter.ZlibCodecOptions{AlwaysEncode: true}).Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	in := []*commonpb.Payload{p, zipped[0], nil}
	out, err := codec.NewCodec(kr).Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Fatalf("payload %d changed: %v -> %v", i, in[i], out[i])
		}
	}
	var m map[string]string
	if err := codec.DataConverter(kr).FromPayload(p, &m); err != nil || m["written"] != "before encryption" {
		t.Fatalf("plain payload through the codec converter: %v %v", m, err)
	}
	if _, err := codec.NewCodec(&codec.Keyring{}).Encode(in[:1]); err == nil {
		t.Fatal("zero Keyring encoded")
	}
	if _, err := codec.NewCodec(nil).Encode(in[:1]); err == nil {
		t.Fatal("nil keyring encoded")
	}
	// Without a keyring: the default converter, which leaves encryption off.
	if dc := codec.DataConverter(nil); dc != converter.GetDefaultDataConverter() {
		t.Fatal("DataConverter(nil) is not the default data converter")
	}
}

func TestFailureConverterEncryptsMessages(t *testing.T) {
	kr, _ := keyring(t, "k1")
	fc := codec.FailureConverter(kr)
	f := fc.ErrorToFailure(errors.New("password=hunter2 rejected"))
	if strings.Contains(f.GetMessage(), "hunter2") || strings.Contains(f.GetStackTrace(), "hunter2") {
		t.Fatalf("failure message in the clear: %q", f.GetMessage())
	}
	if enc := f.GetEncodedAttributes(); string(enc.GetMetadata()[converter.MetadataEncoding]) != codec.EncodingEncrypted {
		t.Fatalf("encoded attributes %v; want encrypted", enc)
	}
	if err := fc.FailureToError(f); !strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("decoded failure %q; want the original message", err)
	}
}
