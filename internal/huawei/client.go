// Package huawei reaches Huawei Cloud's BSS and TMS APIs through the official
// SDK, with explicit timeouts, client-side rate limits and classified errors.
// The SDK neither retries nor takes a context: retries belong to Temporal.
package huawei

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	sdkconfig "github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	bss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2"
	tms "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1"
	"golang.org/x/sync/semaphore"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/config"
)

// Client is safe for concurrent use; one per worker process, so that its rate
// limiters are shared by every activity the worker runs.
type Client struct {
	bss      *bss.BssClient
	tms      *tms.TmsClient
	bssLimit gate
	tmsLimit gate
	stats    *Stats
	types    atomic.Pointer[catalog.Table] // BSS-to-TMS types, see UseCatalog
	observer Observer
	// bulkPages bounds the bulk listing pages held at once (WithBulkPages);
	// nil: no bound.
	bulkPages *semaphore.Weighted
	// customerID: a partner lists this customer's resources (BSS
	// customer_id); TMS cannot read their tags.
	customerID string
}

// Stats counts HTTP exchanges with Huawei, as seen on the wire.
type Stats struct {
	Requests  atomic.Int64
	Throttled atomic.Int64 // answers with status 429
	Failed    atomic.Int64 // other answers >= 400, and transport errors
}

// New builds both API clients from the configuration: the endpoints are
// HUAWEI_SITE's presets unless HUAWEI_BSS_ENDPOINT / HUAWEI_TMS_ENDPOINT
// override them. The catalog is catalog.Default until UseCatalog (none for
// a partner's customer: TMS cannot read their tags).
func New(cfg config.Huawei, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bssURL, tmsURL, err := Endpoints(cfg)
	if err != nil {
		return nil, err
	}
	stats := &Stats{}
	build := func(builder *core.HcHttpClientBuilder, endpoint string) (*core.HcHttpClient, error) {
		cred, err := credentials(cfg)
		if err != nil {
			return nil, err
		}
		httpCfg := sdkconfig.DefaultHttpConfig().
			WithTimeout(cfg.HTTPTimeout).
			WithHttpRoundTripper(&countingTransport{
				next:  http.DefaultTransport.(*http.Transport).Clone(),
				stats: stats,
			})
		return builder.
			WithEndpoints([]string{endpoint}).
			WithCredential(cred).
			WithHttpConfig(httpCfg).
			WithErrorHandler(errorHandler{}).
			SafeBuild()
	}
	bssHC, err := build(bss.BssClientBuilder(), bssURL)
	if err != nil {
		return nil, err
	}
	tmsHC, err := build(tms.TmsClientBuilder(), tmsURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		bss:      bss.NewBssClient(bssHC),
		tms:      tms.NewTmsClient(tmsHC),
		bssLimit: newThrottle(cfg.BSSRate),
		tmsLimit: newThrottle(cfg.TMSRate),
		stats:    stats,
		observer: noObserver{},
	}
	c.types.Store(catalog.Default())
	if cfg.PartnerDomainID != "" {
		c.customerID = cfg.DomainID
		c.types.Store(noTagTypes)
	}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// UseCatalog replaces the BSS-to-TMS table the client reads tags with, e.g.
// by catalog.Default().Restrict(served) once TMS has said what it serves.
func (c *Client) UseCatalog(t *catalog.Table) { c.types.Store(t) }

// Catalog is the BSS-to-TMS table the client reads tags with.
func (c *Client) Catalog() *catalog.Table { return c.types.Load() }

// Stats returns the client's wire counters.
func (c *Client) Stats() *Stats { return c.stats }

// call runs one SDK call after the limiter allows it. The SDK blocks without a
// context, so the call runs aside and ctx only stops the wait for it; the HTTP
// timeout bounds the call itself.
func call[T any](ctx context.Context, obs Observer, t gate, api string, fn func() (T, error)) (_ T, err error) {
	start := time.Now()
	var sent time.Time
	defer func() {
		if sent.IsZero() { // given up while waiting
			sent = time.Now()
		}
		obs.ObserveCall(api, sent.Sub(start), time.Since(sent), err)
	}()
	var zero T
	if err := t.wait(ctx); err != nil {
		return zero, err
	}
	sent = time.Now()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case <-ctx.Done():
		return zero, ctx.Err()
	case r := <-done:
		if r.err != nil {
			ae := classify(api, r.err)
			if ae.Kind == KindThrottled {
				t.pause(ctx, ae)
			}
			return zero, ae
		}
		return r.v, nil
	}
}

// countingTransport counts requests and outcomes on the wire.
type countingTransport struct {
	next  http.RoundTripper
	stats *Stats
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.stats.Requests.Add(1)
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		t.stats.Failed.Add(1)
	case resp.StatusCode == http.StatusTooManyRequests:
		t.stats.Throttled.Add(1)
	case resp.StatusCode >= 400:
		t.stats.Failed.Add(1)
	}
	return resp, err
}
