package store

import (
	"context"

	"expiry-sync/internal/inventory"
)

// ResourceTags reads the stored tags of an account's resources by id,
// active or not: what the reminders route a resource by (its owner tag).
// A resource the inventory does not hold, or whose tags are unknown
// (NULL), is absent from the map.
func (s *Store) ResourceTags(ctx context.Context, accountID string, ids []string) (map[string]Tags, error) {
	out := make(map[string]Tags, len(ids))
	for chunk := range chunks(ids, 500) {
		var rows []ExpiringResource
		err := s.db.WithContext(ctx).Select("resource_id", "tags").
			Where("cloud_provider = ? AND account_id = ? AND resource_id IN ?",
				inventory.CloudProvider, accountID, chunk).
			Find(&rows).Error
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Tags != nil {
				out[r.ResourceID] = r.Tags
			}
		}
	}
	return out, nil
}
