package store

import (
	"context"

	"gorm.io/gorm"
)

// Reserve takes a slot without sleeping for it (tests of the arithmetic).
func (l *RateLimiter) Reserve(ctx context.Context, api string) (Reservation, error) {
	return l.reserveSlot(ctx, api, l.bucket(api))
}

// FenceShared runs the fence a sync's data writes take, in tx.
func FenceShared(s *Store, tx *gorm.DB, w Writer) error { return s.fenceShared(tx, w) }

// MigrateTo applies the migrations up to version: a schema an older
// build left.
func MigrateTo(ctx context.Context, s *Store, version int64) error {
	p, err := s.migrations()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}
