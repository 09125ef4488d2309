package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
)

// holdLease runs HoldLease beside the sync's work, renewing the account's
// lease for as long as this run lives. It returns the context the work runs
// in, canceled if the lease is lost (s.leaseErr then says why), and the
// function that stops holding at the end of the run. A terminated sync
// simply stops renewing: its account is free within the lease's TTL, or at
// once when the next sync sees from Temporal that it is closed.
func (s *syncRun) holdLease(ctx workflow.Context) (workflow.Context, func()) {
	if !s.v.leasedListing() {
		return ctx, func() {}
	}
	work, stopWork := workflow.WithCancel(ctx)
	lease, stopLease := workflow.WithCancel(ctx)
	c := s.cursor
	f := workflow.ExecuteActivity(
		workflow.WithActivityOptions(lease, leaseOptions()),
		contract.ActivityHoldLease,
		contract.HoldLeaseInput{
			Account: s.in.Account, SyncID: s.syncID, Generation: c.Generation, LeaseToken: c.LeaseToken,
		},
	)
	workflow.Go(ctx, func(ctx workflow.Context) {
		if err := f.Get(ctx, nil); err != nil && !temporal.IsCanceledError(err) {
			s.leaseErr = err
			stopWork()
		}
	})
	return work, stopLease
}
