package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCodecTokenFromTheVariableOrItsFile(t *testing.T) {
	t.Setenv("EXPIRY_SYNC_CODEC_TOKEN", "")
	t.Setenv("EXPIRY_SYNC_CODEC_TOKEN_FILE", "")
	c, err := LoadCodec()
	require.NoError(t, err)
	assert.Empty(t, c.Token, "no token: the check is off")

	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("s3cret-token\n"), 0o600))
	t.Setenv("EXPIRY_SYNC_CODEC_TOKEN_FILE", file)
	c, err = LoadCodec()
	require.NoError(t, err)
	assert.Equal(t, Secret("s3cret-token"), c.Token, "read from the file, trimmed")

	require.NoError(t, os.WriteFile(file, []byte("\n"), 0o600))
	_, err = LoadCodec()
	assert.ErrorContains(t, err, "EXPIRY_SYNC_CODEC_TOKEN_FILE="+file+" is empty")
}
