package huawei_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"expiry-sync/internal/clip"
	"expiry-sync/internal/huawei"
)

// A body that is not Huawei's JSON (a proxy's error page) becomes the SDK's
// message whole; the error keeps its start and says how long it was.
func TestARawErrorBodyIsCutInMessages(t *testing.T) {
	page := "<html><body>" + strings.Repeat("upstream proxy error ", 5000) + "</body></html>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	_, err := newClient(t, srv.URL).ListPage(context.Background(), wideWindow(0, 10))
	ae := apiError(t, err)
	assert.Equal(t, huawei.KindServer, ae.Kind)
	assert.Equal(t, page[:clip.Max]+fmt.Sprintf("…(%d bytes)", len(page)), ae.Message)
	assert.Less(t, len(ae.Error()), clip.Max+500, "the whole error stays short")
}
