package bench

import (
	"context"
	"errors"
	"sync"
	"time"

	"gorm.io/gorm"

	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/workflows"
)

// baselinePool is the seed's fixed number of tag-query threads.
const baselinePool = 5

// baseline syncs the first BaselineMax resources the seed's way, without
// Temporal: list, query tags with a fixed pool of 5 threads, insert one row
// per transaction. Its time is scaled linearly to the point's size.
func (s *Stack) baseline(ctx context.Context, p Point, a *benchAccount, r *Result) error {
	dbURL, drop, err := s.newDatabase(ctx, p.DB, "baseline")
	if err != nil {
		return err
	}
	defer drop()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	hw, err := huawei.New(config.Huawei{AccessKey: config.Secret(a.ak), SecretKey: config.Secret(a.sk), DomainID: a.domain,
		BSSEndpoint: a.srv.URL, TMSEndpoint: a.srv.URL, HTTPTimeout: 30 * time.Second, BSSRate: p.BSSRate, TMSRate: p.TMSRate})
	if err != nil {
		return err
	}

	start := time.Now()
	resources, err := listAll(ctx, hw, p.BaselineMax)
	if err != nil {
		return err
	}
	tags, err := tagsWithPool(ctx, hw, resources)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, res := range resources {
		row := store.NewRow(a.domain, "baseline", inventory.Row{Resource: res, Tags: tags[res.ResourceID]}, now)
		if err := st.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error { return tx.Create(&row).Error }); err != nil {
			return err
		}
	}
	took := time.Since(start)
	r.BaselineFrom = len(resources)
	if len(resources) > 0 && r.Rows > 0 {
		r.BaselineWallS = took.Seconds() * float64(r.Rows) / float64(len(resources))
		r.Speedup = r.BaselineWallS / r.WallS
	}
	return nil
}

func listAll(ctx context.Context, hw *huawei.Client, limit int) ([]inventory.Resource, error) {
	now := time.Now().UTC()
	var out []inventory.Resource
	for offset := 0; len(out) < limit; {
		q := huawei.ListQuery{ExpireBegin: now.AddDate(0, 0, -40), ExpireEnd: now.AddDate(0, 0, 400),
			StatusList: []int{2, 4, 5}, Offset: offset, Limit: huawei.MaxPageSize}
		page, err := hw.ListPage(ctx, q)
		for attempt := 1; err != nil && attempt < 10 && retryable(err); attempt++ {
			time.Sleep(time.Second) // a throttled page, as a simple script would
			page, err = hw.ListPage(ctx, q)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, page.Resources...)
		offset += page.Received
		if page.Received == 0 || offset >= page.TotalCount {
			break
		}
	}
	return out[:min(len(out), limit)], nil
}

// tagsWithPool queries every taggable resource with 5 workers, retrying a
// throttled or failed call after a second, as a simple script would.
func tagsWithPool(ctx context.Context, hw *huawei.Client, resources []inventory.Resource) (map[string]inventory.TagResult, error) {
	work := make(chan inventory.Resource)
	var mu sync.Mutex
	out := make(map[string]inventory.TagResult, len(resources))
	var firstErr error
	var wg sync.WaitGroup
	for range baselinePool {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				res, err := tagsWithRetry(ctx, hw, r)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[r.ResourceID] = res
				mu.Unlock()
			}
		}()
	}
	for _, r := range resources {
		if _, ok := workflows.LegacyTMSType(r.ResourceTypeCode); ok {
			work <- r
		} else {
			mu.Lock()
			out[r.ResourceID] = inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsUnsupported}
			mu.Unlock()
		}
	}
	close(work)
	wg.Wait()
	return out, firstErr
}

func tagsWithRetry(ctx context.Context, hw *huawei.Client, r inventory.Resource) (inventory.TagResult, error) {
	target := inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode}
	for attempt := 1; ; attempt++ {
		res, err := hw.ResourceTags(ctx, target)
		if err == nil || attempt == 10 || !retryable(err) {
			return res, err
		}
		time.Sleep(time.Second)
	}
}

// retryable: a throttled or failed call that a retry may get through.
func retryable(err error) bool {
	var ae *huawei.APIError
	return errors.As(err, &ae) && ae.Kind.Retryable()
}
