// Package temporalclient dials Temporal for the worker, the starter and
// `worker check` from one place. The connection is the official CLI's
// (config.Temporal.ClientProfile: a temporal.toml profile and the TEMPORAL_*
// variables, through go.temporal.io/sdk/contrib/envconfig); the caller's own
// options (data converter, logger, identity, metrics) stay on top of it.
package temporalclient

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"expiry-sync/internal/config"
)

// DialTimeout bounds a dial: a Temporal that is unreachable, or that refuses
// the TLS handshake, answers within it or the dial fails.
const DialTimeout = 10 * time.Second

// Options is own with the connection of t: address, namespace, API key, TLS,
// gRPC metadata (TEMPORAL_GRPC_META_* or the profile's grpc_meta) and
// authority (TEMPORAL_CLIENT_AUTHORITY or the profile's authority). A key
// from TEMPORAL_API_KEY_FILE is sent through dynamic credentials that read
// the file again every config.APIKeyFileTTL, so it rotates without a
// restart. The profile's codec (TEMPORAL_CODEC_*) is not used: payloads are
// encoded in-process by own's data converter (EXPIRY_SYNC_PAYLOAD_KEY); a
// remote codec would be called on every payload, replays included.
func Options(t config.Temporal, own client.Options) (client.Options, error) {
	p, err := t.ClientProfile()
	if err != nil {
		return own, err
	}
	p.Address = cmp.Or(p.Address, config.DefaultTemporalAddress)
	p.Namespace = cmp.Or(p.Namespace, config.DefaultTemporalNamespace)
	conn, err := p.ToClientOptions(envconfig.ToClientOptionsRequest{IncludeRemoteCodec: false})
	if err != nil {
		return own, fmt.Errorf("the Temporal TLS settings: %v", err)
	}
	own.HostPort, own.Namespace = conn.HostPort, conn.Namespace
	own.Credentials, own.HeadersProvider = conn.Credentials, conn.HeadersProvider
	if key := t.APIKeyProvider(); key != nil {
		own.Credentials = client.NewAPIKeyDynamicCredentials(key)
	}
	own.ConnectionOptions.TLS = conn.ConnectionOptions.TLS
	own.ConnectionOptions.TLSDisabled = conn.ConnectionOptions.TLSDisabled
	own.ConnectionOptions.Authority = conn.ConnectionOptions.Authority
	return own, nil
}

// Dial connects with Options within DialTimeout. A failure comes back as one
// line saying which setting to check, without the API key.
func Dial(ctx context.Context, t config.Temporal, own client.Options) (client.Client, error) {
	opts, err := Options(t, own)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, explain(err, t, opts)
	}
	return c, nil
}
