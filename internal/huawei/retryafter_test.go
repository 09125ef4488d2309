package huawei_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/huawei"
)

// A Retry-After of a day does not freeze the worker's calls for a day: the
// attempt fails as throttled, saying what was asked, and the pause is
// capped at MaxRetryAfter.
func TestADayLongRetryAfterIsCapped(t *testing.T) {
	saved := huawei.MaxRetryAfter
	huawei.MaxRetryAfter = 2 * time.Second
	t.Cleanup(func() { huawei.MaxRetryAfter = saved })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "86400")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached"}`))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL)
	_, err := c.ListPage(context.Background(), wideWindow(0, 10))
	ae := apiError(t, err)
	assert.Equal(t, huawei.KindThrottled, ae.Kind)
	assert.Equal(t, huawei.MaxRetryAfter, ae.RetryAfter)
	assert.Contains(t, ae.Error(), "Retry-After asked for 24h0m0s: waiting 2s at most")

	// The next call waits for the capped pause, not for a day.
	ctx, cancel := context.WithTimeout(context.Background(), huawei.MaxRetryAfter+5*time.Second)
	defer cancel()
	began := time.Now()
	_, err = c.ListPage(ctx, wideWindow(0, 10))
	require.Error(t, err)
	assert.Equal(t, huawei.KindThrottled, apiError(t, err).Kind, "the call went out once the pause ended")
	assert.GreaterOrEqual(t, time.Since(began), time.Second, "it did wait for the pause")
}
