// Package codec encrypts Temporal payloads with AES-256-GCM, so that
// resource names, tags and errors are not readable in Temporal's own
// database: workflow inputs and results, activity inputs and results,
// queries, signals, memo, and failures' messages and stack traces (the
// failure converter encodes them as an encrypted payload). Not encrypted:
// search attributes (the server indexes them), workflow and activity ids
// and types, task queues, failure types and timer durations. Off unless
// EXPIRY_SYNC_PAYLOAD_KEY (or _FILE) holds a key; the worker and the
// starter must share it, and the Web UI decodes through the codec server
// (cmd/codec-server).
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// Encoding marks an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key a payload was encrypted with.
	MetadataKeyID = "encryption-key-id"
)

// AESGCM is a converter.PayloadCodec.
type AESGCM struct {
	aead  cipher.AEAD
	keyID string
}

// New makes a codec from a 32-byte key. The key id written with each
// payload is derived from the key, never the key itself.
func New(key []byte) (*AESGCM, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("payload key is %d bytes: AES-256 needs exactly 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key)
	return &AESGCM{aead: aead, keyID: hex.EncodeToString(sum[:4])}, nil
}

// Encode encrypts each payload whole (metadata included).
func (c *AESGCM) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, c.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(c.keyID)},
			Data:     c.aead.Seal(nonce, nonce, plain, nil),
		}
	}
	return out, nil
}

// Decode decrypts the payloads this codec encrypted and passes others through.
func (c *AESGCM) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		if id := string(p.GetMetadata()[MetadataKeyID]); id != c.keyID {
			return nil, fmt.Errorf("payload encrypted with key %s, this codec holds key %s", id, c.keyID)
		}
		n := c.aead.NonceSize()
		if len(p.GetData()) < n {
			return nil, errors.New("encrypted payload too short")
		}
		plain, err := c.aead.Open(nil, p.GetData()[:n], p.GetData()[n:], nil)
		if err != nil {
			return nil, errors.New("encrypted payload does not decrypt with this key")
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, err
		}
		out[i] = &decoded
	}
	return out, nil
}

// ParseKey decodes a key given in base64 (32 random bytes), naming the
// setting it came from in the error, never the key.
func ParseKey(b64, setting string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf(
			"%s must hold 32 random bytes in base64 (e.g. from `head -c 32 /dev/urandom | base64`)",
			setting,
		)
	}
	return key, nil
}

// Converters are the data and failure converters every client of the
// project uses (worker, starter, codec-aware tools).
type Converters struct {
	Data    converter.DataConverter
	Failure converter.FailureConverter // nil: the SDK's default
}

// NewConverters are the default converters, encrypted when keyB64 holds a
// key ("" turns encryption off). Encrypted, failures are too: their
// messages and stack traces go into an encrypted payload
// (EncodeCommonAttributes), since an error's text may name a resource;
// Temporal keeps only "Encoded failure". A failure's type, its
// retryability and the timeout kind stay in clear: the retry policy reads
// them on the server.
func NewConverters(keyB64 string) (Converters, error) {
	if keyB64 == "" {
		return Converters{Data: converter.GetDefaultDataConverter()}, nil
	}
	key, err := ParseKey(keyB64, "EXPIRY_SYNC_PAYLOAD_KEY")
	if err != nil {
		return Converters{}, err
	}
	c, err := New(key)
	if err != nil {
		return Converters{}, err
	}
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
	fc := temporal.NewDefaultFailureConverter(
		temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true},
	)
	return Converters{Data: dc, Failure: fc}, nil
}
