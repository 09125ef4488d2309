package codec

import (
	"net/http"

	"go.temporal.io/sdk/converter"
)

// Handler serves /encode and /decode for the Temporal Web UI and CLI
// (--codec-endpoint), answering CORS requests from the UI's origin.
func Handler(c converter.PayloadCodec, uiOrigin string) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uiOrigin != "" && r.Header.Get("Origin") == uiOrigin {
			w.Header().Set("Access-Control-Allow-Origin", uiOrigin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type,X-Namespace")
			w.Header().Set("Access-Control-Allow-Methods", "POST,OPTIONS")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusOK)
			return
		}
		codec.ServeHTTP(w, r)
	})
}
