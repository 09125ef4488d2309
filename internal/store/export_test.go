package store

import "context"

// Reserve takes a slot without sleeping for it (tests of the arithmetic).
func (l *RateLimiter) Reserve(ctx context.Context, api string) (Reservation, error) {
	return l.reserveSlot(ctx, api, l.bucket(api))
}
