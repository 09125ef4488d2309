package temporalclient

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"

	"expiry-sync/internal/config"
)

// explain turns a failed dial into one line: where, which setting to check,
// and the server's or the TLS stack's own words, with the API key scrubbed.
func explain(err error, t config.Temporal, opts client.Options) error {
	detail := strings.Join(strings.Fields(err.Error()), " ")
	for _, key := range apiKeys(t) {
		detail = strings.ReplaceAll(detail, key, "[redacted]")
	}
	return fmt.Errorf("cannot connect to Temporal at %s: %s (%s)", opts.HostPort, hint(err, detail, t, opts), detail)
}

// apiKeys are the API keys a dial sends: TEMPORAL_API_KEY's, else
// TEMPORAL_API_KEY_FILE's (the current and the one it replaced), else the
// temporal.toml profile's api_key, which a server may quote as well.
func apiKeys(t config.Temporal) []string {
	keys := t.APIKeys()
	if p, err := t.ClientProfile(); err == nil {
		keys = append(keys, p.APIKey)
	}
	return slices.DeleteFunc(keys, func(k string) bool { return k == "" })
}

// hint says what to check for the error, in the settings' own names.
func hint(err error, detail string, t config.Temporal, opts client.Options) string {
	tlsOn := opts.ConnectionOptions.TLS != nil && !opts.ConnectionOptions.TLSDisabled
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(detail, x) {
				return true
			}
		}
		return false
	}
	switch code := serviceerror.ToStatus(err).Code(); {
	case code == codes.Unauthenticated && opts.Credentials != nil:
		return "the API key was refused: check TEMPORAL_API_KEY (or the profile's api_key)"
	case code == codes.Unauthenticated && tlsOn && len(opts.ConnectionOptions.TLS.Certificates) > 0:
		return "the client certificate was refused: " +
			"check TEMPORAL_TLS_CLIENT_CERT_PATH (or the profile's tls.client_cert_path)"
	case code == codes.Unauthenticated:
		return "the server wants credentials: set TEMPORAL_API_KEY, or a client certificate " +
			"(TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)"
	case code == codes.PermissionDenied:
		return fmt.Sprintf(
			"these credentials may not use namespace %s: "+
				"check TEMPORAL_NAMESPACE and the key's or certificate's permissions",
			opts.Namespace,
		)
	case has("certificate signed by unknown authority"):
		if t.TLS.ServerCACertPath != "" {
			return "the server's certificate is not signed by the CA of TEMPORAL_TLS_SERVER_CA_CERT_PATH=" +
				t.TLS.ServerCACertPath + ": give the CA that signed it"
		}
		return "the server's certificate is not signed by a CA this client trusts: " +
			"set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it"
	case has("certificate is valid for", "certificate is not valid for any names", "doesn't contain any IP SANs"):
		return "the server's certificate is not for this name: " +
			"set TEMPORAL_TLS_SERVER_NAME to a name the certificate holds"
	case has("certificate has expired or is not yet valid"):
		return "the server's certificate has expired or is not yet valid"
	case has("first record does not look like a TLS handshake"):
		return "the server does not speak TLS: set TEMPORAL_TLS=false (an API key turns TLS on)"
	case has("certificate required", "bad certificate", "unknown certificate authority", "certificate unknown",
		"expired certificate"):
		return "the server refused this client's certificate: " +
			"set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH to a certificate it trusts"
	case tlsOn && has("broken pipe", "connection reset", "EOF"):
		// With TLS 1.3 a server that refuses the client's certificate may
		// close the connection before the client reads its alert.
		return "the server closed the TLS connection (it may want a client certificate it trusts): " +
			"set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH"
	case !tlsOn && has("EOF", "server preface", "connection reset"):
		return "the server closed the connection: if it wants TLS, set TEMPORAL_TLS=true " +
			"(and TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)"
	case code == codes.DeadlineExceeded || code == codes.Unavailable:
		return "no answer: check TEMPORAL_ADDRESS (host:port of the frontend) and that the server runs"
	}
	return "check TEMPORAL_ADDRESS and the TEMPORAL_* connection settings"
}
