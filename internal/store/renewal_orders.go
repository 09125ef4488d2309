package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The order step's two records (docs/renewals.md, "At most one order per
// request"): which request each Huawei order belongs to, and which order
// calls were started without their answer recorded.

type renewalOrder struct {
	OrderID     string `gorm:"primaryKey"`
	RequestID   string
	AccountID   string
	ResourceIDs string
	RecordedAt  time.Time
}

func (renewalOrder) TableName() string { return "renewal_orders" }

type renewalOrderAttempt struct {
	RequestID   string `gorm:"primaryKey"`
	Chunk       string `gorm:"primaryKey"`
	ResourceIDs string
	StartedAt   time.Time
}

func (renewalOrderAttempt) TableName() string { return "renewal_order_attempts" }

// OrderOwnedError: the order is recorded as another request's.
type OrderOwnedError struct{ OrderID, RequestID string }

func (e *OrderOwnedError) Error() string {
	return fmt.Sprintf("Huawei order %s belongs to renewal request %s", e.OrderID, e.RequestID)
}

// ChunkKey names a set of resources ordered together, whatever their order.
func ChunkKey(resourceIDs []string) string {
	ids := slices.Sorted(slices.Values(resourceIDs))
	h := sha256.Sum256([]byte(strings.Join(ids, ",")))
	return hex.EncodeToString(h[:])
}

// ClaimOrder records that the order is the request's; claiming it again
// for the same request is a no-op, for another an *OrderOwnedError.
func (s *Store) ClaimOrder(ctx context.Context, requestID, accountID, orderID string, resourceIDs []string) error {
	row := renewalOrder{
		OrderID:     orderID,
		RequestID:   requestID,
		AccountID:   accountID,
		ResourceIDs: strings.Join(resourceIDs, ","),
		RecordedAt:  time.Now().UTC(),
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
		var owner renewalOrder
		if err := tx.Where("order_id = ?", orderID).Take(&owner).Error; err != nil {
			return err
		}
		if owner.RequestID != requestID {
			return &OrderOwnedError{OrderID: orderID, RequestID: owner.RequestID}
		}
		return nil
	})
}

// OrderOwners answers, for the orders asked, the request each belongs to
// (orders no request claimed are absent).
func (s *Store) OrderOwners(ctx context.Context, orderIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(orderIDs) == 0 {
		return out, nil
	}
	var rows []renewalOrder
	if err := s.db.WithContext(ctx).Where("order_id IN ?", orderIDs).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.OrderID] = r.RequestID
	}
	return out, nil
}

// StartOrderAttempt records that the request is about to order these
// resources. It answers when an earlier attempt was recorded (and so may
// have ordered): then it records nothing new.
func (s *Store) StartOrderAttempt(
	ctx context.Context,
	requestID string,
	resourceIDs []string,
) (earlier time.Time, found bool, err error) {
	row := renewalOrderAttempt{
		RequestID:   requestID,
		Chunk:       ChunkKey(resourceIDs),
		ResourceIDs: strings.Join(resourceIDs, ","),
		StartedAt:   time.Now().UTC(),
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var prior renewalOrderAttempt
		err := tx.Where("request_id = ? AND chunk = ?", row.RequestID, row.Chunk).Take(&prior).Error
		switch {
		case err == nil:
			earlier, found = prior.StartedAt, true
			return nil
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		return tx.Create(&row).Error
	})
	return earlier, found, err
}

// EndOrderAttempt forgets an attempt whose answer is known to have ordered
// nothing (Huawei refused the call), so the next attempt may call again.
func (s *Store) EndOrderAttempt(ctx context.Context, requestID string, resourceIDs []string) error {
	return s.db.WithContext(ctx).
		Where("request_id = ? AND chunk = ?", requestID, ChunkKey(resourceIDs)).
		Delete(&renewalOrderAttempt{}).
		Error
}
