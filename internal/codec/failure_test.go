package codec_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"expiry-sync/internal/codec"
)

// With a key, a failure's message and stack trace are encrypted with the
// payloads: what Temporal stores names no resource, what a client holding
// the key reads back does; the type and retryability stay readable for the
// server's retry policy.
func TestFailuresAreEncryptedWithThePayloads(t *testing.T) {
	conv, err := codec.NewConverters(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	require.NoError(t, err)
	require.NotNil(t, conv.Failure)
	cause := errors.New(`GET /v2.0/resources/ecs-8f3a1c/tags: dial tcp: connection refused`)
	appErr := temporal.NewApplicationErrorWithCause("tags of ecs-8f3a1c unreadable", "HuaweiUnavailable", cause)

	f := conv.Failure.ErrorToFailure(appErr)
	raw, err := protojson.Marshal(f)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "ecs-8f3a1c", "no resource id in what Temporal stores")
	assert.Equal(t, "Encoded failure", f.GetMessage())
	assert.Equal(t, codec.Encoding, string(f.GetEncodedAttributes().GetMetadata()["encoding"]))
	assert.Equal(t, "HuaweiUnavailable", f.GetApplicationFailureInfo().GetType(), "the type stays in clear")

	back := conv.Failure.FailureToError(f)
	assert.Contains(t, back.Error(), "tags of ecs-8f3a1c unreadable", "a client with the key reads it")
	assert.Contains(t, back.Error(), "connection refused", "and its cause")
	var got *temporal.ApplicationError
	require.True(t, errors.As(back, &got))
	assert.Equal(t, "HuaweiUnavailable", got.Type())

	plain, err := codec.NewConverters("")
	require.NoError(t, err)
	assert.Nil(t, plain.Failure, "without a key, failures stay as the SDK writes them")
}
