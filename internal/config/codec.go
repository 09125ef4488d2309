package config

import (
	"fmt"

	"github.com/caarlos0/env/v11"
)

// Codec is the codec server's own configuration (cmd/codec-server); its
// payload key is the Temporal settings' (LoadTemporal).
type Codec struct {
	// Token, when set, is the bearer token /encode and /decode require.
	Token     Secret `env:"EXPIRY_SYNC_CODEC_TOKEN"`
	TokenFile string `env:"EXPIRY_SYNC_CODEC_TOKEN_FILE"`
	// Origins: the Web UI's origins, comma-separated (--ui-origin's default).
	Origins string `env:"EXPIRY_SYNC_CODEC_ORIGINS"`
}

// LoadCodec reads the codec server's settings.
func LoadCodec() (Codec, error) {
	var c Codec
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	if err := readKeyFile("EXPIRY_SYNC_CODEC_TOKEN_FILE", c.TokenFile, &c.Token); err != nil {
		return c, err
	}
	// An empty file would turn the check off without a word.
	if c.TokenFile != "" && c.Token == "" {
		return c, fmt.Errorf(
			"EXPIRY_SYNC_CODEC_TOKEN_FILE=%s is empty: it must hold the token, or unset it to serve without one",
			c.TokenFile,
		)
	}
	return c, nil
}
