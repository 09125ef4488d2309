package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Custom search attributes of a sync, shown and filterable in the Web UI
// (e.g. ExpirySyncStatus = "partial"). A sync upserts them when it starts,
// once per page and when it ends: never per resource.
var (
	// AttrSyncStatus: running, success, partial, failed or canceled.
	AttrSyncStatus = temporal.NewSearchAttributeKeyKeyword("ExpirySyncStatus")
	// AttrExpiringResources: resources listed so far (the total once done).
	AttrExpiringResources = temporal.NewSearchAttributeKeyInt64("ExpiringResources")
	// AttrExpireDays: the sync's window, in days.
	AttrExpireDays = temporal.NewSearchAttributeKeyInt64("ExpireDays")
	// AttrAccount: the name of the Huawei account synced.
	AttrAccount = temporal.NewSearchAttributeKeyKeyword("ExpirySyncAccount")
	// AttrRenewState: a renewal request's state (contract.RenewStates).
	AttrRenewState = temporal.NewSearchAttributeKeyKeyword("ExpirySyncRenewState")
)

// SearchAttributes lists every custom search attribute with its type, for
// registering them (`temporal operator search-attribute create`).
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		AttrSyncStatus.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		AttrExpiringResources.GetName(): enumspb.INDEXED_VALUE_TYPE_INT,
		AttrExpireDays.GetName():        enumspb.INDEXED_VALUE_TYPE_INT,
		AttrAccount.GetName():           enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		AttrRenewState.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}
