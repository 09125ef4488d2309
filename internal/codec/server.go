package codec

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
)

// DefaultOrigins are the Web UI's origins CORS allows unless told
// otherwise: the UI of `temporal server start-dev` and of docker compose,
// reached by either name of the loopback.
var DefaultOrigins = []string{"http://localhost:8233", "http://127.0.0.1:8233"}

// MaxBody bounds a request's body. The UI sends the payloads of one field
// at a time, and Temporal refuses a payload over 2 MiB; the SDK's handler
// would read whatever it is sent.
const MaxBody = 4 << 20

// ServerOptions configure Handler.
type ServerOptions struct {
	// Origins the Web UI is served from; CORS allows these only.
	Origins []string
	// Token, when set, is the bearer token /encode and /decode require
	// (Authorization: Bearer <token>): whoever reaches the server can
	// decrypt otherwise.
	Token string
}

// Handler serves /encode and /decode for the Temporal Web UI and CLI
// (--codec-endpoint, --codec-auth), answering CORS requests from the UI's
// origins.
func Handler(c converter.PayloadCodec, o ServerOptions) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowOrigin(w, r, o.Origins)
		if r.Method == http.MethodOptions {
			// A browser's preflight never carries credentials.
			w.WriteHeader(http.StatusOK)
			return
		}
		if !authorized(r, o.Token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="expiry-sync codec"`)
			http.Error(w, "a bearer token is required: Authorization: Bearer <EXPIRY_SYNC_CODEC_TOKEN>",
				http.StatusUnauthorized)
			return
		}
		if !readBody(w, r) {
			return
		}
		codec.ServeHTTP(w, r)
	})
}

// allowOrigin answers CORS for the listed origins; the browser refuses the
// answer to any other.
func allowOrigin(w http.ResponseWriter, r *http.Request, origins []string) {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	for _, o := range origins {
		if origin != "" && origin == o {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type,X-Namespace,Authorization")
			w.Header().Set("Access-Control-Allow-Methods", "POST,OPTIONS")
			return
		}
	}
}

// authorized checks the bearer token, if one is required. The hashes are
// compared in constant time, so neither the token nor its length leaks
// through the answer's timing.
func authorized(r *http.Request, token string) bool {
	if token == "" {
		return true
	}
	scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	want, have := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(want[:], have[:]) == 1 && strings.EqualFold(scheme, "Bearer")
}

// readBody reads the body, at most MaxBody bytes, for the SDK's handler:
// a larger one is answered 413.
func readBody(w http.ResponseWriter, r *http.Request) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, fmt.Sprintf("the body is over %d bytes", MaxBody), http.StatusRequestEntityTooLarge)
		return false
	case err != nil:
		http.Error(w, "the body cannot be read", http.StatusBadRequest)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return true
}

// Server serves h on addr with timeouts, so that a slow or stuck client
// cannot hold a connection: the UI's requests are small and quick.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// ParseOrigins reads a comma-separated list of origins
// (scheme://host[:port], as a browser sends them in Origin).
func ParseOrigins(list string) ([]string, error) {
	var origins []string
	for o := range strings.SplitSeq(list, ",") {
		o = strings.TrimSpace(o)
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" ||
			u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not an origin: allowed http(s)://host[:port] without a path, "+
				"e.g. http://localhost:8233", o)
		}
		origins = append(origins, o)
	}
	return origins, nil
}
