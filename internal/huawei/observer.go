package huawei

import "time"

// Observer hears of every API call when it completes: the worker's metrics.
// It must be quick and safe for concurrent use.
type Observer interface {
	// ObserveCall reports one call: the time it waited for the rate limiter
	// (or a flow-control pause), the time the call itself took, and its
	// error: nil, an *APIError, or the caller's context error.
	ObserveCall(api string, waited, took time.Duration, err error)
}

// Option configures a Client.
type Option func(*Client)

// WithObserver reports every call to o.
func WithObserver(o Observer) Option { return func(c *Client) { c.observer = o } }

type noObserver struct{}

func (noObserver) ObserveCall(string, time.Duration, time.Duration, error) {}
