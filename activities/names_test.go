package activities_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"

	"expiry-sync/activities"
	"expiry-sync/internal/contract"
)

// Workflows call activities by the names in the contract; each must be a
// method the worker registers.
func TestEveryContractActivityIsAMethod(t *testing.T) {
	for _, c := range []struct {
		impl  any
		names []string
	}{
		{&activities.Activities{}, []string{contract.ActivityBeginSync, contract.ActivityHoldLease, contract.ActivityListPage,
			contract.ActivityFetchTags, contract.ActivitySnapshotTags, contract.ActivityCommitBatch, contract.ActivityCommitPage, contract.ActivityRecheckUnseen,
			contract.ActivityFinishSync, contract.ActivityEndSync}},
		{&activities.Notifier{}, []string{contract.ActivityNotifyPlan, contract.ActivityNotifyClaim, contract.ActivityNotifySend,
			contract.ActivityNotifySettle, contract.ActivityNotifyTestSend}},
	} {
		typ := reflect.TypeOf(c.impl)
		for _, name := range c.names {
			_, ok := typ.MethodByName(name)
			assert.True(t, ok, "%s has no method %s", typ, name)
		}
	}
}
