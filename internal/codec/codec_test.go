package codec_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"expiry-sync/internal/codec"
)

var key = bytes.Repeat([]byte{7}, 32)

func TestRoundTripHidesTheData(t *testing.T) {
	c, err := codec.New(key)
	require.NoError(t, err)
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
	in := map[string]string{"resource": "ecs-生产-web-01", "owner": "张三"}
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	assert.Equal(t, codec.Encoding, string(p.Metadata[converter.MetadataEncoding]))
	assert.NotContains(t, string(p.Data), "ecs-")
	assert.NotContains(t, string(p.Data), "张三")
	var out map[string]string
	require.NoError(t, dc.FromPayload(p, &out))
	assert.Equal(t, in, out)

	other, err := codec.New(bytes.Repeat([]byte{8}, 32))
	require.NoError(t, err)
	_, err = other.Decode([]*commonpb.Payload{p})
	assert.ErrorContains(t, err, "encrypted with key")
	plain, err := converter.GetDefaultDataConverter().ToPayload("clear")
	require.NoError(t, err)
	got, err := c.Decode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	assert.Equal(t, plain, got[0], "unencrypted payloads pass through")
}

func TestKeysAreCheckedWithoutBeingShown(t *testing.T) {
	conv, err := codec.NewConverters("")
	require.NoError(t, err)
	assert.Equal(t, converter.GetDefaultDataConverter(), conv.Data, "off by default")
	assert.Nil(t, conv.Failure, "the SDK's default failure converter")

	got, err := codec.ParseKey(base64.StdEncoding.EncodeToString(key), "X")
	require.NoError(t, err)
	assert.Equal(t, key, got)

	_, err = codec.NewConverters("c2hvcnQ=")
	assert.ErrorContains(t, err, "EXPIRY_SYNC_PAYLOAD_KEY must hold 32 random bytes in base64")
	assert.NotContains(t, err.Error(), "c2hvcnQ=", "the key never reaches an error")
}

func TestCodecServerDecodesForTheWebUI(t *testing.T) {
	c, err := codec.New(key)
	require.NoError(t, err)
	srv := httptest.NewServer(codec.Handler(c, codec.ServerOptions{Origins: codec.DefaultOrigins}))
	defer srv.Close()
	enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"tag value"`)}})
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/decode", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://localhost:8233")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "http://localhost:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	var raw bytes.Buffer
	_, err = raw.ReadFrom(resp.Body)
	require.NoError(t, err)
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(raw.Bytes(), &out))
	require.Len(t, out.Payloads, 1)
	assert.Equal(t, `"tag value"`, string(out.Payloads[0].Data))
}
